// Perplexity throughput, llamats vs llama.cpp (node-llama-cpp 3.21.1, CPU) in one run, same
// GGUF, same text, same chunks and thread count: tokens evaluated per second (nChunk * nCtx /
// seconds). llamats runs `perplexity()` (evaluation + scoring). llama.cpp evaluates each chunk
// from an empty sequence with evaluateWithoutGeneratingNewTokens (what llama-perplexity's
// llama_decode does, less its half-window lm_head and log-softmax scoring), so its figure
// is an upper bound on llama-perplexity's own speed and the ratio a lower bound for us.
//
//   node --conditions=source --import=tsx benchmarks/src/perplexity.bench.ts \
//     [--shape tiny|1b] [--types q4_0,f16 | --models a.gguf,b.gguf] [--ctx 128] [--chunks 2] [--threads 2]
// Synthetic models are written to $LLAMATS_BENCH_DIR (default /tmp/llamats-bench) when missing.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { loadModel, perplexity, planPerplexity, chunkTokens, writeSyntheticModel } from "@llamats/engine";
import { repoRoot } from "@llamats/testkit";
import { machineInfo, runStandalone } from "./harness.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

export async function run(args: string[] = []): Promise<unknown> {
  const { dir, shape, nCtx, chunks, threads } = {
    dir: process.env.LLAMATS_BENCH_DIR ?? "/tmp/llamats-bench",
    shape: arg(args, "--shape", "1b"),
    nCtx: Number(arg(args, "--ctx", "128")),
    chunks: Number(arg(args, "--chunks", "2")),
    threads: Number(arg(args, "--threads", "2")),
  };
  const text = readFileSync(join(repoRoot(), "fixtures/perplexity/river-town.txt"), "utf8");
  mkdirSync(dir, { recursive: true });
  const rows: Record<string, unknown>[] = [];
  const given = arg(args, "--models", "").split(",").filter(Boolean);
  const files = given.length ? given : arg(args, "--types", "q4_0").split(",").map((type) => join(dir, `synth-${shape}-${type}.gguf`));
  for (const file of files) {
    const type = file.replace(/^.*synth-[^-]+-|\.gguf$/g, "");
    if (!existsSync(file)) {
      process.stderr.write(`  writing ${file}\n`);
      writeSyntheticModel(file, { shape, type, seed: 1 });
    }
    const load0 = loadavg()[0];
    const model = await loadModel(file, { threads, backend: "wasm", nCtx, maxBatch: 64 });
    let ours: { tps: number; ppl: number };
    let tokens: number[];
    let bosId: number;
    try {
      tokens = model.tokenize(text, { bos: true });
      bosId = model.tokenizer.bosId;
      const r = await perplexity(model, tokens, { nCtx, chunks, bosId });
      ours = { tps: r.tokensPerSecond, ppl: r.ppl };
    } finally {
      model.dispose();
    }
    const theirs = await llamacppTokensPerSecond(file, tokens, nCtx, chunks, threads, bosId);
    const row = {
      model: file.split("/").pop(), nCtx, chunks, threads, loadAvg1m: +load0.toFixed(2),
      llamats_tokensPerSecond: +ours.tps.toFixed(2), llamacpp_tokensPerSecond: +theirs.toFixed(2), ratio: +(ours.tps / theirs).toFixed(3),
      llamats_ppl: +ours.ppl.toFixed(4),
    };
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  return { machine: machineInfo(), rows };
}

/** llama.cpp's evaluation speed over the same chunks (tokens per second). */
async function llamacppTokensPerSecond(path: string, tokens: number[], nCtx: number, chunks: number, threads: number, bosId: number): Promise<number> {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: nCtx, threads, batchSize: nCtx });
  const seq = ctx.getSequence();
  try {
    const plan = planPerplexity(tokens.length, nCtx, chunks);
    let seconds = 0;
    for (let i = 0; i < plan.nChunk; i++) {
      await seq.clearHistory();
      const chunk = Array.from(chunkTokens(tokens, plan, i, bosId));
      const t0 = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(chunk as never[]);
      seconds += (performance.now() - t0) / 1000;
    }
    return (plan.nChunk * nCtx) / seconds;
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

runStandalone(import.meta.url, "perplexity", run);
