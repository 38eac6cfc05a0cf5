// Multi-threaded quantizeRows for `llamats quantize --threads N`: rows are split between
// the calling thread and N - 1 worker_threads over SharedArrayBuffers. The call stays
// synchronous (the caller blocks in Atomics.wait until the workers are done), so it drops
// into streaming writers that ask for one tensor's bytes at a time. Output is identical to
// quantizeRows: each row is quantised independently by the same reference code.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { GGMLType, LlamatsError, ggmlRowBytes, ggmlTypeInfo } from "@llamats/tensor";
import { checkFinite, quantizeRows } from "./rows.js";

export interface QuantizePool {
  readonly threads: number;
  quantizeRows(type: GGMLType, src: Float32Array, rows: number, cols: number, tensorName?: string): Uint8Array;
  dispose(): void;
}

/** A job for one worker: rows [rowStart, rowEnd) of src into dst. */
export interface PoolJob {
  type: GGMLType;
  cols: number;
  rowBytes: number;
  rowStart: number;
  rowEnd: number;
  src: SharedArrayBuffer; // (rows, cols) float32
  dst: SharedArrayBuffer; // (rows, rowBytes)
  ctrl: SharedArrayBuffer; // Int32 [done count, error flag]
}

/**
 * The worker script next to this file: pool-worker.js from dist, or pool-worker.ts when
 * running from TypeScript sources under tsx, where the worker registers tsx's loader first.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./pool-worker.js", import.meta.url));
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsx = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
  const entry = new URL("./pool-worker.ts", import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

// Below this many weights the hand-off costs more than it saves.
const MIN_PARALLEL_WEIGHTS = 1 << 16;

/**
 * Start a pool of `threads` threads in all (the caller plus threads - 1 workers). Resolves
 * when every worker has loaded its modules: from then on quantizeRows may block the caller.
 */
export async function createQuantizePool(threads: number): Promise<QuantizePool> {
  const nWorkers = Math.max(0, Math.floor(threads) - 1);
  const workers = Array.from({ length: nWorkers }, startWorker);
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once("message", () => resolve());
      w.once("error", reject);
      w.once("exit", (code) => reject(new Error(`quantize worker exited with code ${code}`)));
    })));
  } catch (err) {
    for (const w of workers) void w.terminate();
    throw err;
  }
  for (const w of workers) {
    w.removeAllListeners();
    w.unref();
  }
  let srcSab = new SharedArrayBuffer(0);
  let dstSab = new SharedArrayBuffer(0);
  const ctrlSab = new SharedArrayBuffer(8);
  const ctrl = new Int32Array(ctrlSab);
  return {
    threads: nWorkers + 1,
    quantizeRows(type, src, rows, cols, tensorName) {
      const info = ggmlTypeInfo(type);
      if (nWorkers === 0 || !info?.quantized || rows < 2 || rows * cols < MIN_PARALLEL_WEIGHTS) {
        return quantizeRows(type, src, rows, cols, undefined, tensorName);
      }
      let rowBytes: number;
      try {
        rowBytes = ggmlRowBytes(type, cols);
      } catch (err) {
        throw new LlamatsError((err as Error).message);
      }
      checkFinite(type, src, rows, cols, tensorName); // fail with the name before any hand-off
      if (srcSab.byteLength < rows * cols * 4) srcSab = new SharedArrayBuffer(rows * cols * 4);
      if (dstSab.byteLength < rows * rowBytes) dstSab = new SharedArrayBuffer(rows * rowBytes);
      new Float32Array(srcSab, 0, rows * cols).set(src.subarray(0, rows * cols));
      Atomics.store(ctrl, 0, 0);
      Atomics.store(ctrl, 1, 0);
      const parts = nWorkers + 1;
      const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((rows * i) / parts));
      for (let k = 0; k < nWorkers; k++) {
        const job: PoolJob = { type, cols, rowBytes, rowStart: bounds[k + 1], rowEnd: bounds[k + 2], src: srcSab, dst: dstSab, ctrl: ctrlSab };
        workers[k].postMessage(job);
      }
      // This thread takes the first share.
      const mine = bounds[1];
      quantizeRows(type, new Float32Array(srcSab, 0, mine * cols), mine, cols, new Uint8Array(dstSab, 0, mine * rowBytes));
      for (let done = Atomics.load(ctrl, 0); done < nWorkers; done = Atomics.load(ctrl, 0)) Atomics.wait(ctrl, 0, done, 1000);
      if (Atomics.load(ctrl, 1) !== 0) throw new Error("quantize worker failed");
      return new Uint8Array(dstSab, 0, rows * rowBytes).slice();
    },
    dispose() {
      for (const w of workers) void w.terminate();
    },
  };
}
