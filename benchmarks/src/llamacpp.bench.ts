// llamats vs llama.cpp (node-llama-cpp 3.21.1, CPU build, no GPU) vs wllama 2.3.7 (llama.cpp
// compiled to wasm32, the WebAssembly peer; run in a child process through a small browser
// shim, wllama/node-shim.mjs) on the same GGUF files with the same thread counts, in one run: ppN (N prompt tokens in one evaluation from an empty
// context) and tgN (N single-token decodes from an empty context), tokens/s as the best of
// --reps after a warm-up, the ratios llamats/llama.cpp, and our tg as a fraction of the
// memory-bandwidth bound (read GB/s measured in the same run / weight bytes per token).
// Effective core count, the CPU (model, SIMD flags) and load are recorded next to the figures
// (these VMs are shared). wllama cannot load a file of 4 GiB or more (wasm32 memory): such a
// row says so in wllama.error instead of failing the run.
//
//   npm run -s bench -- --suite llamacpp [--shape 1b|7b] [--types q4_0,q8_0] [--models a.gguf,b.gguf]
//     [--threads 1,2] [-p 64] [-n 16] [--reps 3] [--cache-type f32|f16|q8_0] [--wllama off]
// Synthetic models (E2's `synth`, seeded weights, real shapes) are written to
// $LLAMATS_BENCH_DIR (default /tmp/llamats-bench) when missing: never into the repo.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { loadModel, writeSyntheticModel } from "@llamats/engine";
import { machineInfo, runStandalone } from "./harness.js";
import { effectiveCores, readBandwidth } from "./machine-probe.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}
const ints = (s: string) => s.split(",").filter(Boolean).map(Number);

function tokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % (vocab - 100)) + 50);
}

async function llamats(path: string, threads: number, p: number, n: number, reps: number, cacheType?: string) {
  const model = await loadModel(path, { threads, backend: "wasm", nCtx: Math.max(p, n) + 1, maxBatch: p, cacheType });
  try {
    const vocab = model.config.vocabSize;
    const pp = () => { model.reset(); const t0 = performance.now(); model.forward(tokens(p, vocab), { pos: 0 }); return p / ((performance.now() - t0) / 1000); };
    const tg = () => {
      model.reset();
      const ids = tokens(n, vocab);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) model.forward([ids[i]!], { pos: i });
      return n / ((performance.now() - t0) / 1000);
    };
    pp(); tg(); // warm-up
    let bestPp = 0, bestTg = 0;
    for (let r = 0; r < reps; r++) { bestPp = Math.max(bestPp, pp()); bestTg = Math.max(bestTg, tg()); }
    const stats = (model.backend as { stats?: { jobs: number; waitMs: number } }).stats;
    return { pp: bestPp, tg: bestTg, vocab, backend: model.backend.name, cacheType: model.cacheType, dispatch: stats ? { jobs: stats.jobs, waitMsPerJob: +(stats.waitMs / Math.max(1, stats.jobs)).toFixed(4) } : undefined };
  } finally {
    model.dispose();
  }
}

async function llamacpp(path: string, threads: number, p: number, n: number, reps: number, vocab: number) {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: Math.max(256, p + n + 8), threads, batchSize: Math.max(p, 1) });
  const seq = ctx.getSequence();
  try {
    const pp = async () => { await seq.clearHistory(); const t0 = performance.now(); await seq.evaluateWithoutGeneratingNewTokens(tokens(p, vocab) as never[]); return p / ((performance.now() - t0) / 1000); };
    const tg = async () => {
      await seq.clearHistory();
      const t0 = performance.now();
      let k = 0;
      for await (const _ of seq.evaluate([tokens(1, vocab)[0]!] as never[])) if (++k >= n) break;
      return n / ((performance.now() - t0) / 1000);
    };
    await pp(); await tg();
    let bestPp = 0, bestTg = 0;
    for (let r = 0; r < reps; r++) { bestPp = Math.max(bestPp, await pp()); bestTg = Math.max(bestTg, await tg()); }
    return { pp: bestPp, tg: bestTg };
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

/** wasm32: one linear memory of at most 4 GiB holds the whole file plus the KV cache and scratch. */
const WLLAMA_MAX_FILE_BYTES = 4 * 2 ** 30;
const WLLAMA_TIMEOUT_MS = 600_000;

export interface WllamaResult {
  pp?: number;
  tg?: number;
  loadMs?: number;
  multiThread?: boolean;
  error?: string;
}

/** wllama in a child process (wllama/wllama-child.ts): its result, or why there is none. */
export async function wllama(path: string, bytes: number, threads: number, p: number, n: number, reps: number, vocab: number): Promise<WllamaResult> {
  if (bytes >= WLLAMA_MAX_FILE_BYTES) {
    return { error: `cannot load: the file is ${(bytes / 2 ** 30).toFixed(2)} GiB, wllama is wasm32 (one 4 GiB memory for the file, KV cache and scratch)` };
  }
  const child = fileURLToPath(new URL("./wllama/wllama-child.ts", import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, ["--conditions=source", "--import=tsx", child, path, String(threads), String(p), String(n), String(reps), String(vocab)],
      { timeout: WLLAMA_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        const last = stdout.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(last) as WllamaResult);
        } catch {
          resolve({ error: `${err ? String(err.message).split("\n")[0] : "no result"}${stderr ? `: ${stderr.trim().split("\n").slice(-1)[0]}` : ""}` });
        }
      });
  });
}

/** lscpu's model name and the SIMD flags that matter to the kernels (Linux; empty elsewhere). */
function cpuFacts(): { model?: string; simdFlags?: string[] } {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1];
    const flags = (/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? "").split(/\s+/);
    const simd = flags.filter((f) => /^(sse4_1|sse4_2|ssse3|avx|avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx_vnni|avx512_bf16|amx_.*)$/.test(f));
    return { model, simdFlags: simd };
  } catch {
    return {};
  }
}

export async function run(args: string[] = []): Promise<unknown> {
  const dir = process.env.LLAMATS_BENCH_DIR ?? "/tmp/llamats-bench";
  const shape = arg(args, "--shape", "1b");
  const threadCounts = ints(arg(args, "--threads", "1,2"));
  const p = Number(arg(args, "-p", "64"));
  const n = Number(arg(args, "-n", "16"));
  const reps = Number(arg(args, "--reps", "3"));
  const cacheType = arg(args, "--cache-type", "") || undefined;
  const withWllama = arg(args, "--wllama", "on") !== "off";
  let models = arg(args, "--models", "").split(",").filter(Boolean);
  if (models.length === 0) {
    mkdirSync(dir, { recursive: true });
    models = arg(args, "--types", "q4_0,q8_0").split(",").map((type) => {
      const file = join(dir, `synth-${shape}-${type}.gguf`);
      if (!existsSync(file)) {
        process.stderr.write(`  writing ${file}\n`);
        writeSyntheticModel(file, { shape, type, seed: 1 });
      }
      return file;
    });
  }
  const machine = { ...machineInfo(), cpu: cpuFacts(), effectiveCores: await effectiveCores(2, 60_000_000) };
  const bandwidthGBps = await readBandwidth(threadCounts);
  const rows: Record<string, unknown>[] = [];
  for (const file of models) {
    const bytes = statSync(file).size;
    for (const threads of threadCounts) {
      const load0 = loadavg()[0];
      const ours = await llamats(file, threads, p, n, reps, cacheType);
      const rssAfterOursMiB = Math.round(process.resourceUsage().maxRSS / 1024);
      const theirs = await llamacpp(file, threads, p, n, reps, ours.vocab);
      const wasm = withWllama ? await wllama(file, bytes, threads, p, n, reps, ours.vocab) : { error: "not run (--wllama off)" };
      const bw = bandwidthGBps[`threads${threads}`] ?? NaN;
      const row = {
        model: file.split("/").pop(), fileGB: +(bytes / 1e9).toFixed(3), threads, loadAvg1m: +load0.toFixed(2),
        [`llamats_pp${p}`]: +ours.pp.toFixed(2), [`llamacpp_pp${p}`]: +theirs.pp.toFixed(2), ppRatio: +(ours.pp / theirs.pp).toFixed(3),
        [`llamats_tg${n}`]: +ours.tg.toFixed(2), [`llamacpp_tg${n}`]: +theirs.tg.toFixed(2), tgRatio: +(ours.tg / theirs.tg).toFixed(3),
        tgBoundTps: +((bw * 1e9) / bytes).toFixed(2), tgFractionOfBound: +(ours.tg / ((bw * 1e9) / bytes)).toFixed(3),
        [`wllama_pp${p}`]: wasm.pp !== undefined ? +wasm.pp.toFixed(2) : null, [`wllama_tg${n}`]: wasm.tg !== undefined ? +wasm.tg.toFixed(2) : null,
        ppVsWllama: wasm.pp ? +(ours.pp / wasm.pp).toFixed(3) : null, tgVsWllama: wasm.tg ? +(ours.tg / wasm.tg).toFixed(3) : null,
        wllama: wasm.error !== undefined ? { error: wasm.error } : { multiThread: wasm.multiThread, loadMs: wasm.loadMs !== undefined ? Math.round(wasm.loadMs) : undefined },
        llamatsBackend: ours.backend, llamatsCacheType: ours.cacheType, dispatch: ours.dispatch, maxRssMiBAfterLlamats: rssAfterOursMiB,
      };
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
  }
  return { machine, bandwidthGBps, settings: { p, n, reps, threads: threadCounts, cacheType: cacheType ?? "default", wllama: withWllama ? "@wllama/wllama 2.3.7" : "off" }, rows };
}

runStandalone(import.meta.url, "llamacpp", run, { wrap: false });
