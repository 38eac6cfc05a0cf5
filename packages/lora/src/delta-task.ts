// The LoRA delta pool's task (loaded by every worker thread of the ThreadPool): rows of
// B @ A by the delta_rows kernel (delta-wasm.ts) over the shared kernel memory, and for a
// merge job the same rows added to the weight by merge_rows.

import type { TaskContext, TaskShare } from "@llamats/tensor";
import type { DeltaExports } from "./delta-wasm.js";

/** Job kinds. */
export const DeltaOp = { delta: 0, merge: 1 } as const;

/** Arg slots: pointers of A, B's first row, d's first row, the weight's first row, the
 *  results; inDim (= cols); r; the scale's float32 bits. */
export const DArg = { a: 0, b: 1, d: 2, cur: 3, res: 4, inDim: 5, r: 6, scaleBits: 7 } as const;

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);

/** The scale as the int args carry it. */
export function scaleBits(scale: number): number {
  f32[0] = scale;
  return f32Bits[0];
}

/** Rows [start, end) of the job described by `args`. */
export function deltaShare(k: DeltaExports, op: number, args: Int32Array, start: number, end: number): void {
  const inDim = args[DArg.inDim]!, r = args[DArg.r]!, n = end - start;
  const dPtr = args[DArg.d]! + start * inDim * 4;
  k.delta_rows(args[DArg.a]!, args[DArg.b]! + start * r * 8, dPtr, n, inDim, r); // B's rows in float64
  if (op !== DeltaOp.merge) return;
  f32Bits[0] = args[DArg.scaleBits]!;
  k.merge_rows(args[DArg.cur]! + start * inDim * 2, dPtr, args[DArg.res]! + start * 8, n, inDim, f32[0]);
}

export function createTask(module: WebAssembly.Module, ctx: TaskContext): TaskShare {
  const memory = ctx.buffers[0] as WebAssembly.Memory;
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DeltaExports;
  return (op, args, start, end) => deltaShare(k, op, args, start, end);
}
