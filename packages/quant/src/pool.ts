// Multi-threaded quantizeRows for `llamats quantize --threads N`: rows are split between
// the calling thread and N - 1 worker_threads of @llamats/tensor's ThreadPool (the one pool
// of llamats) over one shared WebAssembly memory (the float32 rows at 0, the quantised rows
// after them; grown as needed, never copied per worker). The call stays synchronous (the
// caller blocks until the workers are done), so it drops into streaming writers that ask
// for one tensor's bytes at a time. Output is identical to quantizeRows: each row is
// quantised independently by the same reference code.

import { GGMLType, LlamatsError, ThreadPool, ggmlRowBytes, ggmlTypeInfo, taskModuleUrl } from "@llamats/tensor";
import { QArg, quantizeShare } from "./pool-task.js";
import { checkFinite, quantizeRows } from "./rows.js";

export interface QuantizePool {
  readonly threads: number;
  quantizeRows(type: GGMLType, src: Float32Array, rows: number, cols: number, tensorName?: string): Uint8Array;
  dispose(): void;
}

// Below this many weights the hand-off costs more than it saves.
const MIN_PARALLEL_WEIGHTS = 1 << 16;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB of address space reserved, committed as it grows

/**
 * Start a pool of `threads` threads in all (the caller plus threads - 1 workers). Resolves
 * when every worker has loaded its modules: from then on quantizeRows may block the caller.
 */
export async function createQuantizePool(threads: number): Promise<QuantizePool> {
  const n = Math.max(1, Math.floor(threads));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const pool = new ThreadPool({ threads: n, taskModule: taskModuleUrl(import.meta.url, "./pool-task"), buffers: [memory], name: "quantize" });
  try {
    await pool.ready();
  } catch (err) {
    pool.dispose();
    throw err;
  }
  return {
    threads: n,
    quantizeRows(type, src, rows, cols, tensorName) {
      const info = ggmlTypeInfo(type);
      if (n === 1 || !info?.quantized || rows < 2 || rows * cols < MIN_PARALLEL_WEIGHTS) {
        return quantizeRows(type, src, rows, cols, undefined, tensorName);
      }
      let rowBytes: number;
      try {
        rowBytes = ggmlRowBytes(type, cols);
      } catch (err) {
        throw new LlamatsError((err as Error).message);
      }
      checkFinite(type, src, rows, cols, tensorName); // fail with the name before any hand-off
      const dst = Math.ceil((rows * cols * 4) / 64) * 64;
      const need = dst + rows * rowBytes;
      if (need > MAX_PAGES * PAGE) return quantizeRows(type, src, rows, cols, undefined, tensorName);
      if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
      new Float32Array(memory.buffer, 0, rows * cols).set(src.subarray(0, rows * cols));
      const args = pool.args;
      args[QArg.type] = type;
      args[QArg.cols] = cols;
      args[QArg.rowBytes] = rowBytes;
      args[QArg.dst] = dst | 0;
      pool.run(0, rows, (a, b) => quantizeShare(memory, args, a, b));
      return new Uint8Array(memory.buffer, dst, rows * rowBytes).slice();
    },
    dispose() {
      pool.dispose();
    },
  };
}
