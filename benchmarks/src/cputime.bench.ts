// llamats vs llama.cpp in tokens per CPU-second, one thread, same GGUF, one process: on a
// shared VM whose load average is many times its core count, wall-clock tokens/s measure the
// neighbours; the CPU time a run consumes (process.cpuUsage: user + system of this process,
// which is llamats' only thread and llama.cpp's only compute thread at threads = 1) is far
// less sensitive. llamats runs with the Q4_0x4 repack and without it (LLAMATS_WASM_REPACK=0
// semantics via the backend option) interleaved with llama.cpp, best of --reps each:
//
//   node --conditions=source --import=tsx benchmarks/src/cputime.bench.ts \
//     --model /tmp/llamats-bench/synth-1b-q4_0.gguf [-p 64] [-n 16] [--reps 3]
//
// Not a substitute for wall-clock runs on a quiet machine (memory bandwidth shared with the
// neighbours still shows), but comparable within one run.

import { loadavg } from "node:os";
import { loadModel } from "@llamats/engine";
import { machineInfo, runStandalone } from "./harness.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

function tokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % (vocab - 100)) + 50);
}

/** CPU seconds (this process) and wall seconds of an async or sync fn. */
async function timed(fn: () => unknown): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

interface Side {
  pp(): Promise<{ cpu: number; wall: number }>;
  tg(): Promise<{ cpu: number; wall: number }>;
  close(): Promise<void>;
}

async function llamatsSide(path: string, p: number, n: number, repack: boolean): Promise<Side> {
  const saved = process.env.LLAMATS_WASM_REPACK;
  process.env.LLAMATS_WASM_REPACK = repack ? "1" : "0";
  const m = await loadModel(path, { threads: 1, backend: "wasm", nCtx: Math.max(p, n) + 1, maxBatch: p });
  if (saved === undefined) delete process.env.LLAMATS_WASM_REPACK;
  else process.env.LLAMATS_WASM_REPACK = saved;
  const v = m.config.vocabSize;
  return {
    pp: () => { m.reset(); return timed(() => m.forward(tokens(p, v), { pos: 0 })); },
    tg: () => {
      m.reset();
      const ids = tokens(n, v);
      return timed(() => { for (let i = 0; i < n; i++) m.forward([ids[i]!], { pos: i }); });
    },
    close: async () => m.dispose(),
  };
}

async function llamacppSide(path: string, p: number, n: number, vocab: number): Promise<Side> {
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
  const model = await llama.loadModel({ modelPath: path });
  const ctx = await model.createContext({ contextSize: Math.max(256, p + n + 8), threads: 1, batchSize: Math.max(p, 1) });
  const seq = ctx.getSequence();
  return {
    pp: async () => { await seq.clearHistory(); return timed(() => seq.evaluateWithoutGeneratingNewTokens(tokens(p, vocab) as never[])); },
    tg: async () => {
      await seq.clearHistory();
      return timed(async () => {
        let k = 0;
        for await (const _ of seq.evaluate([tokens(1, vocab)[0]!] as never[])) if (++k >= n) break;
      });
    },
    close: async () => { await ctx.dispose(); await model.dispose(); },
  };
}

export async function run(args: string[] = []): Promise<unknown> {
  const path = arg(args, "--model", "/tmp/llamats-bench/synth-1b-q4_0.gguf");
  const p = Number(arg(args, "-p", "64"));
  const n = Number(arg(args, "-n", "16"));
  const reps = Number(arg(args, "--reps", "3"));
  const load0 = loadavg()[0];
  const x4 = await llamatsSide(path, p, n, true);
  const std = await llamatsSide(path, p, n, false);
  const cpp = await llamacppSide(path, p, n, 32000);
  const sides = { llamatsX4: x4, llamatsStandard: std, llamacpp: cpp } as const;
  const best: Record<string, { ppPerCpuS: number; tgPerCpuS: number; ppPerWallS: number; tgPerWallS: number }> = {};
  for (const [k, s] of Object.entries(sides)) { await s.pp(); await s.tg(); best[k] = { ppPerCpuS: 0, tgPerCpuS: 0, ppPerWallS: 0, tgPerWallS: 0 }; }
  for (let r = 0; r < reps; r++) {
    for (const [k, s] of Object.entries(sides)) {
      const a = await s.pp();
      const b = await s.tg();
      const o = best[k]!;
      o.ppPerCpuS = Math.max(o.ppPerCpuS, p / a.cpu);
      o.tgPerCpuS = Math.max(o.tgPerCpuS, n / b.cpu);
      o.ppPerWallS = Math.max(o.ppPerWallS, p / a.wall);
      o.tgPerWallS = Math.max(o.tgPerWallS, n / b.wall);
    }
  }
  for (const s of Object.values(sides)) await s.close();
  const r2 = (x: number) => +x.toFixed(2);
  const rows = Object.fromEntries(Object.entries(best).map(([k, o]) => [k, Object.fromEntries(Object.entries(o).map(([a, b]) => [a, r2(b)]))]));
  const ratio = (a: string, f: "ppPerCpuS" | "tgPerCpuS") => +(best[a]![f] / best.llamacpp![f]).toFixed(3);
  return {
    machine: machineInfo(), loadAvg1mStart: load0, loadAvg1mEnd: loadavg()[0], model: path.split("/").pop(), settings: { p, n, reps, threads: 1 },
    tokensPerSecond: rows,
    ratiosVsLlamacppPerCpuS: { x4Pp: ratio("llamatsX4", "ppPerCpuS"), x4Tg: ratio("llamatsX4", "tgPerCpuS"), standardPp: ratio("llamatsStandard", "ppPerCpuS"), standardTg: ratio("llamatsStandard", "tgPerCpuS") },
  };
}

runStandalone(import.meta.url, "cputime", run, { wrap: false });
