// Time from loading a GGUF to the first logits, and the peak RSS, llamats beside llama.cpp
// (node-llama-cpp, which maps the file), each in a fresh child process so that RSS is its
// own. llamats: loadModel(path) on the wasm backend, then one forward of one token (which
// also repacks Q4_0 weights: see docs/WASM.md "Q4_0x4"); `--no-repack` sets
// LLAMATS_WASM_REPACK=0 for an A/B. The file is read once before the runs so that both start
// from the page cache.
//
//   node --conditions=source --import=tsx benchmarks/src/loadtime.bench.ts \
//     --model /tmp/llamats-bench/synth-7b-q4_0.gguf [--threads 2] [--no-repack]

import { spawnSync } from "node:child_process";
import { openSync, readSync, closeSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { machineInfo, runStandalone } from "./harness.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

async function childLlamats(path: string, threads: number): Promise<void> {
  const { loadModel } = await import("@llamats/engine");
  const t0 = performance.now();
  const m = await loadModel(path, { threads, backend: "wasm", nCtx: 64 });
  const t1 = performance.now();
  m.forward([1], { pos: 0 });
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({ loadS: (t1 - t0) / 1000, firstForwardS: (t2 - t1) / 1000, toFirstLogitsS: (t2 - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  m.dispose();
}

async function childLlamacpp(path: string, threads: number): Promise<void> {
  const { getLlama } = await import("node-llama-cpp");
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: 64, threads });
  const t1 = performance.now();
  await ctx.getSequence().evaluateWithoutGeneratingNewTokens([1] as never[]);
  const t2 = performance.now();
  process.stdout.write(JSON.stringify({ loadS: (t1 - t0) / 1000, firstForwardS: (t2 - t1) / 1000, toFirstLogitsS: (t2 - t0) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  await ctx.dispose();
  await model.dispose();
}

function warmPageCache(path: string): void {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(64 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) { /* read through */ }
  } finally {
    closeSync(fd);
  }
}

function child(kind: string, path: string, threads: number, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", self, "--child", kind, "--model", path, "--threads", String(threads)], { encoding: "utf8", env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${kind} child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const o = JSON.parse(r.stdout) as Record<string, number>;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +v.toFixed(k === "maxRssMiB" ? 0 : 2)]));
}

export async function run(args: string[] = []): Promise<unknown> {
  const path = arg(args, "--model", "/tmp/llamats-bench/synth-7b-q4_0.gguf");
  const threads = Number(arg(args, "--threads", "2"));
  const env = { ...process.env, ...(args.includes("--no-repack") ? { LLAMATS_WASM_REPACK: "0" } : {}) };
  warmPageCache(path);
  const load0 = loadavg()[0];
  const llamats = child("llamats", path, threads, env);
  const llamacpp = child("llamacpp", path, threads, env);
  return { machine: machineInfo(), loadAvg1mStart: load0, model: path.split("/").pop(), threads, repack: env.LLAMATS_WASM_REPACK !== "0", llamats, llamacpp };
}

const ci = process.argv.indexOf("--child");
if (ci >= 0) {
  const kind = process.argv[ci + 1]!;
  const path = arg(process.argv, "--model", "");
  const threads = Number(arg(process.argv, "--threads", "2"));
  await (kind === "llamats" ? childLlamats(path, threads) : childLlamacpp(path, threads));
} else {
  runStandalone(import.meta.url, "loadtime", run, { wrap: false });
}
