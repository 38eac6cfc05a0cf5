// llamats vs llama.cpp (node-llama-cpp 3.21.1, CPU build, no GPU) on the same GGUF files with
// the same thread counts, in one run: ppN (N prompt tokens in one evaluation from an empty
// context) and tgN (N single-token decodes from an empty context), tokens/s as the best of
// --reps after a warm-up, the ratios llamats/llama.cpp, and our tg as a fraction of the
// memory-bandwidth bound (read GB/s measured in the same run / weight bytes per token).
// Effective core count and load are recorded next to the figures (these VMs are shared).
//
//   node --conditions=source --import=tsx benchmarks/src/llamacpp.bench.ts \
//     [--shape 1b|7b] [--types q4_0,q8_0] [--models a.gguf,b.gguf] [--threads 1,2] [-p 64] [-n 16] [--reps 3]
// Synthetic models (E2's `synth`, seeded weights, real shapes) are written to
// $LLAMATS_BENCH_DIR (default /tmp/llamats-bench) when missing: never into the repo.

import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
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

async function llamats(path: string, threads: number, p: number, n: number, reps: number) {
  const model = await loadModel(path, { threads, backend: "wasm", nCtx: Math.max(p, n) + 1, maxBatch: p });
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
    return { pp: bestPp, tg: bestTg, vocab, backend: model.backend.name, dispatch: stats ? { jobs: stats.jobs, waitMsPerJob: +(stats.waitMs / Math.max(1, stats.jobs)).toFixed(4) } : undefined };
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

export async function run(args: string[] = []): Promise<unknown> {
  const dir = process.env.LLAMATS_BENCH_DIR ?? "/tmp/llamats-bench";
  const shape = arg(args, "--shape", "1b");
  const threadCounts = ints(arg(args, "--threads", "1,2"));
  const p = Number(arg(args, "-p", "64"));
  const n = Number(arg(args, "-n", "16"));
  const reps = Number(arg(args, "--reps", "3"));
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
  const machine = { ...machineInfo(), effectiveCores: await effectiveCores(2, 60_000_000) };
  const bandwidthGBps = await readBandwidth(threadCounts);
  const rows: Record<string, unknown>[] = [];
  for (const file of models) {
    const bytes = statSync(file).size;
    for (const threads of threadCounts) {
      const load0 = loadavg()[0];
      const ours = await llamats(file, threads, p, n, reps);
      const rssAfterOursMiB = Math.round(process.resourceUsage().maxRSS / 1024);
      const theirs = await llamacpp(file, threads, p, n, reps, ours.vocab);
      const bw = bandwidthGBps[`threads${threads}`] ?? NaN;
      const row = {
        model: file.split("/").pop(), fileGB: +(bytes / 1e9).toFixed(3), threads, loadAvg1m: +load0.toFixed(2),
        [`llamats_pp${p}`]: +ours.pp.toFixed(2), [`llamacpp_pp${p}`]: +theirs.pp.toFixed(2), ppRatio: +(ours.pp / theirs.pp).toFixed(3),
        [`llamats_tg${n}`]: +ours.tg.toFixed(2), [`llamacpp_tg${n}`]: +theirs.tg.toFixed(2), tgRatio: +(ours.tg / theirs.tg).toFixed(3),
        tgBoundTps: +((bw * 1e9) / bytes).toFixed(2), tgFractionOfBound: +(ours.tg / ((bw * 1e9) / bytes)).toFixed(3),
        llamatsBackend: ours.backend, dispatch: ours.dispatch, maxRssMiBAfterLlamats: rssAfterOursMiB,
      };
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
  }
  return { machine, bandwidthGBps, settings: { p, n, reps, threads: threadCounts }, rows };
}

runStandalone(import.meta.url, "llamacpp", run, { wrap: false });
