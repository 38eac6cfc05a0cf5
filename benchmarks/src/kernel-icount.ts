// Instructions per 128 weights of the quantised matrix-vector kernels, counted by
// `valgrind --tool=callgrind` (instructions are repeatable on a shared, noisy VM; seconds are
// not). Benchmark-only: valgrind is not a dependency of the tests or CI (apt-get install
// valgrind). Usage:
//
//   node --conditions=source --import=tsx benchmarks/src/kernel-icount.ts \
//     [--layouts standard,x4] [--rows 1024] [--cols 4096] [--reps 200] [--tokens 1]
//
// For each layout it runs itself under callgrind in "--child" mode: build a rows x cols Q4_0
// matrix, place it (x4: repacked to Q4_0x4, standard: ggml's rows, the kernel before the
// repack), prepare one job and run the kernel `reps` times. V8 compiles wasm with TurboFan
// only (--no-liftoff), so the kernel is one JIT'd function, the hottest unnamed one in
// callgrind_annotate's list; its instruction count / (reps * rows * cols / 128) is the figure.
// Prints JSON (machine, per-layout Ir and instructions per 128 weights).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GGMLType } from "@llamats/tensor";
import { quantizeRows } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import { SharedArena, WasmMatmul, kernelModule } from "@llamats/kernels";
import { machineInfo } from "./harness.js";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const rows = Number(arg("rows", "1024"));
const cols = Number(arg("cols", "4096"));
const reps = Number(arg("reps", "200"));
const nTok = Number(arg("tokens", "1"));

function child(layout: string): void {
  const mm = new WasmMatmul(new SharedArena({ initialBytes: 64 << 20 }), kernelModule(), { repack: layout === "x4" });
  // Deterministic weights without the cost of a long random stream: 64 rows repeated.
  const base = quantizeRows(GGMLType.Q4_0, randomNormal(64 * cols, 1, 0.05), 64, cols);
  const bytes = new Uint8Array(base.length * (rows / 64));
  for (let i = 0; i < rows / 64; i++) bytes.set(base, i * base.length);
  const { job } = mm.prepare({ type: GGMLType.Q4_0, rows, cols, bytes }, randomNormal(nTok * cols, 2), nTok);
  for (let r = 0; r < reps; r++) mm.run(job, 0, rows);
  process.stderr.write(`${job.kernel} ${rows}x${cols} x${nTok} reps ${reps}\n`);
}

function measure(layout: string, dir: string): Record<string, unknown> {
  const out = join(dir, `cg.${layout}`);
  const self = fileURLToPath(import.meta.url);
  const args = ["--tool=callgrind", "--smc-check=all-non-file", `--callgrind-out-file=${out}`,
    process.execPath, "--no-liftoff", "--conditions=source", "--import=tsx", self, "--child", layout,
    "--rows", String(rows), "--cols", String(cols), "--reps", String(reps), "--tokens", String(nTok)];
  const run = spawnSync("valgrind", args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`valgrind failed (${run.status}): ${run.stderr.slice(-2000)}`);
  const kernel = /(\S+) \d+x\d+ x\d+ reps/.exec(run.stderr)?.[1];
  const ann = spawnSync("callgrind_annotate", [out], { encoding: "utf8", maxBuffer: 1 << 26 }).stdout;
  const total = Number(/([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/.exec(ann)?.[1]?.replace(/,/g, ""));
  const line = ann.split("\n").find((l) => /\?\?\?:0x[0-9a-f]+ \[\?\?\?\]/.test(l));
  const ir = Number(line?.trim().split(/\s+/)[0]?.replace(/,/g, ""));
  const units = (reps * rows * cols * nTok) / 128;
  return { layout, kernel, kernelIr: ir, programIr: total, instructionsPer128Weights: +(ir / units).toFixed(1) };
}

if (process.argv.includes("--child")) {
  child(arg("child", "x4"));
} else {
  const dir = mkdtempSync(join(tmpdir(), "llamats-icount-"));
  try {
    const results = arg("layouts", "standard,x4").split(",").map((l) => measure(l, dir));
    process.stdout.write(JSON.stringify({ machine: machineInfo(), shape: [rows, cols], tokens: nTok, reps, results }, null, 2) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
