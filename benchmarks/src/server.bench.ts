// Aggregate generation throughput of `llamats serve` with 1, 2, 4, 8 concurrent streams
// (--parallel = streams, so every stream has a sequence and their decode steps run as one
// batched forward), beside node-llama-cpp (llama.cpp 3.21.1, CPU) with as many sequences of
// one context evaluated concurrently, in the same run, same GGUF, same threads.
//
//   node --conditions=source --import=tsx benchmarks/src/server.bench.ts \
//     [--shape 1b] [--type q4_0] [--model a.gguf] [--threads 2] [--streams 1,2,4,8] [-n 16]
//
// Per configuration: N streaming /v1/completions requests over HTTP (distinct 8-token
// prompts, temperature 0, n new tokens each). Reported: decodeTps = tokens after each stream's
// first / (last token - first stream's first token), the steady batched generation rate;
// e2eTps = all tokens / wall time from sending to the last token (prefill included).
// llama.cpp: the same token counts through N LlamaContextSequence.evaluate() generators
// running at once (its context batches them into one decode per step).

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { loadModel, writeSyntheticModel, type LlamaModel } from "@llamats/engine";
import { startServer } from "@llamats/server";
import { machineInfo, runStandalone } from "./harness.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

function prompt(k: number, vocab: number): number[] {
  return [1, ...Array.from({ length: 7 }, (_, i) => ((k * 131 + i * 7919 + 13) % (vocab - 100)) + 50)];
}

interface Timing {
  decodeTps: number;
  e2eTps: number;
  tokens: number;
}

/** Arrival times of every token of every stream -> the two rates. */
function rates(t0: number, times: number[][]): Timing {
  const firsts = times.map((t) => t[0]!);
  const start = Math.min(...firsts);
  const end = Math.max(...times.map((t) => t[t.length - 1]!));
  const tokens = times.reduce((a, t) => a + t.length, 0);
  return { decodeTps: (tokens - times.length) / ((end - start) / 1000), e2eTps: tokens / ((end - t0) / 1000), tokens };
}

async function ours(model: LlamaModel, streams: number, n: number): Promise<Timing> {
  const h = await startServer({ model, port: 0, parallel: streams, ctxSize: 64, log: () => {} });
  try {
    await h.ready;
    const one = async (k: number): Promise<number[]> => {
      const r = await fetch(`${h.url}/v1/completions`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: prompt(k, model.config.vocabSize), max_tokens: n, temperature: 0, stream: true, return_token_ids: true }),
      });
      const times: number[] = [];
      const dec = new TextDecoder();
      let buf = "";
      const reader = r.body!.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!ev.startsWith("data: {")) continue;
          const ids = (JSON.parse(ev.slice(6)) as { choices: { token_ids?: number[] }[] }).choices[0]?.token_ids ?? [];
          for (const _ of ids) times.push(performance.now());
        }
      }
      return times;
    };
    await one(999); // warm-up (kernels compiled, weights placed)
    const t0 = performance.now();
    const times = await Promise.all(Array.from({ length: streams }, (_, k) => one(k)));
    return rates(t0, times);
  } finally {
    await h.close();
  }
}

async function llamacpp(path: string, threads: number, streams: number, n: number, vocab: number): Promise<Timing> {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: 64 * streams, sequences: streams, threads, batchSize: 64 * streams });
  try {
    const seqs = Array.from({ length: streams }, () => ctx.getSequence());
    const gen = async (k: number): Promise<number[]> => {
      const seq = seqs[k]!;
      await seq.clearHistory();
      const times: number[] = [];
      for await (const _ of seq.evaluate(prompt(k, vocab) as never[])) {
        times.push(performance.now());
        if (times.length >= n) break;
      }
      return times;
    };
    await gen(0); // warm-up
    const t0 = performance.now();
    const times = await Promise.all(seqs.map((_, k) => gen(k)));
    return rates(t0, times);
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

export async function run(args: string[] = []): Promise<unknown> {
  const dir = process.env.LLAMATS_BENCH_DIR ?? "/tmp/llamats-bench";
  const shape = arg(args, "--shape", "1b");
  const type = arg(args, "--type", "q4_0");
  const threads = Number(arg(args, "--threads", "2"));
  const n = Number(arg(args, "-n", "16"));
  const streamCounts = arg(args, "--streams", "1,2,4,8").split(",").map(Number);
  let file = arg(args, "--model", "");
  if (!file) {
    mkdirSync(dir, { recursive: true });
    file = join(dir, `synth-${shape}-${type}.gguf`);
    if (!existsSync(file)) {
      process.stderr.write(`  writing ${file}\n`);
      writeSyntheticModel(file, { shape, type, seed: 1 });
    }
  }
  const model = await loadModel(file, { backend: "wasm", threads, nCtx: 64 });
  const rows: Record<string, unknown>[] = [];
  try {
    for (const streams of streamCounts) {
      const load = loadavg()[0];
      const a = await ours(model, streams, n);
      const b = await llamacpp(file, threads, streams, n, model.config.vocabSize);
      const row = {
        streams, threads, loadAvg1m: +load.toFixed(2),
        llamats_decodeTps: +a.decodeTps.toFixed(2), llamacpp_decodeTps: +b.decodeTps.toFixed(2), decodeRatio: +(a.decodeTps / b.decodeTps).toFixed(3),
        llamats_e2eTps: +a.e2eTps.toFixed(2), llamacpp_e2eTps: +b.e2eTps.toFixed(2),
        tokens: a.tokens,
      };
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      rows.push(row);
    }
  } finally {
    model.dispose();
  }
  const one = rows[0] as { llamats_decodeTps: number } | undefined;
  const four = rows.find((r) => r.streams === 4) as { llamats_decodeTps: number } | undefined;
  return {
    machine: machineInfo(), model: file.split("/").pop(), settings: { threads, n, streams: streamCounts },
    rows, llamatsScaling4vs1: one && four ? +(four.llamats_decodeTps / one.llamats_decodeTps).toFixed(3) : undefined,
  };
}

runStandalone(import.meta.url, "server", run, { wrap: false });
