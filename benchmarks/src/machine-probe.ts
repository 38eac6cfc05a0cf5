// Machine probes recorded next to every speed figure (these VMs do not always deliver the
// cores they advertise, and share memory bandwidth with neighbours):
// - effectiveCores: a fixed integer loop on 1 thread, then on N threads at once (main + N-1
//   eval'd workers); effective cores = N * t1 / tN (2.0 when two cores are really free).
// - readGBps: read bandwidth as a SIMD stream sees it: an F32 matrix-vector product over a
//   256 MiB matrix on the worker backend (weight bytes / second), 1 and N threads.

import { Worker } from "node:worker_threads";
import { GGMLType } from "@llamats/tensor";
import { createWorkerBackend } from "@llamats/workers";

const ALU_LOOP = `
  const n = ITERS; let x = 0x9e3779b9 | 0;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; }
  return x;`;

function aluLoop(iters: number): number {
  return new Function(ALU_LOOP.replace("ITERS", String(iters)))() as number;
}

async function aluOnThreads(iters: number, threads: number): Promise<number> {
  const code = `const { parentPort } = require("node:worker_threads");
    parentPort.once("message", () => { const r = (function(){ ${ALU_LOOP.replace("ITERS", String(iters))} })(); parentPort.postMessage(r); });`;
  const workers = Array.from({ length: threads - 1 }, () => new Worker(code, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once("online", r))));
  const t0 = performance.now();
  const done = workers.map((w) => new Promise((r) => w.once("message", r)));
  for (const w of workers) w.postMessage("go");
  aluLoop(iters);
  await Promise.all(done);
  const dt = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return dt;
}

export async function effectiveCores(threads = 2, iters = 150_000_000): Promise<{ threads: number; t1Ms: number; tNMs: number; effectiveCores: number }> {
  aluLoop(1_000_000); // warm up the JIT
  const t1 = await aluOnThreads(iters, 1);
  const tN = await aluOnThreads(iters, threads);
  return { threads, t1Ms: Math.round(t1), tNMs: Math.round(tN), effectiveCores: Math.round(((threads * t1) / tN) * 100) / 100 };
}

export async function readBandwidth(threadCounts: number[] = [1, 2], mib = 256): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const threads of threadCounts) {
    const b = await createWorkerBackend({ threads });
    try {
      const cols = 4096;
      const rows = (mib << 20) / (cols * 4);
      const bytes = b.allocBytes(rows * cols * 4);
      new Float32Array(bytes.buffer, bytes.byteOffset, rows * cols).fill(0.5);
      const w = { type: GGMLType.F32, rows, cols, bytes };
      const x = new Float32Array(cols).fill(1);
      const y = new Float32Array(rows);
      b.matmul(y, w, x, 1);
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        b.matmul(y, w, x, 1);
        best = Math.min(best, performance.now() - t0);
      }
      out[`threads${threads}`] = Math.round((bytes.length / (best / 1000) / 1e9) * 100) / 100;
    } finally {
      b.dispose();
    }
  }
  return out;
}
