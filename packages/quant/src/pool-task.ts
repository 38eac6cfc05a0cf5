// The quantisation pool's task (loaded by every worker thread of the ThreadPool): quantise
// rows [start, end) of the float32 matrix at offset 0 of the shared memory into the rows at
// args[DST] (see pool.ts for the layout).

import type { GGMLType, TaskContext, TaskShare } from "@llamats/tensor";
import { quantizeRows } from "./rows.js";

/** Arg slots of a quantisation job. */
export const QArg = { type: 0, cols: 1, rowBytes: 2, dst: 3 } as const;

/** Rows [start, end) of the job described by `args` over `memory`'s current buffer. */
export function quantizeShare(memory: WebAssembly.Memory, args: Int32Array, start: number, end: number): void {
  const cols = args[QArg.cols]!, rowBytes = args[QArg.rowBytes]!, n = end - start;
  const buf = memory.buffer; // re-read: the caller grows the memory between jobs
  const src = new Float32Array(buf, start * cols * 4, n * cols);
  const dst = new Uint8Array(buf, (args[QArg.dst]! >>> 0) + start * rowBytes, n * rowBytes);
  quantizeRows(args[QArg.type] as GGMLType, src, n, cols, dst);
}

export function createTask(_init: unknown, ctx: TaskContext): TaskShare {
  const memory = ctx.buffers[0] as WebAssembly.Memory;
  return (_op, args, start, end) => quantizeShare(memory, args, start, end);
}
