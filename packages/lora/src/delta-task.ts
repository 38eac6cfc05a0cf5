// The LoRA delta pool's task (loaded by every worker thread of the ThreadPool): rows of
// B @ A by the delta_rows kernel (delta-wasm.ts) over the shared kernel memory.

import type { TaskContext, TaskShare } from "@llamats/tensor";
import type { DeltaExports } from "./delta-wasm.js";

/** Arg slots of a delta job: pointers of A, of B's first row, of d's first row; inDim; r. */
export const DArg = { a: 0, b: 1, d: 2, inDim: 3, r: 4 } as const;

/** Rows [start, end) of the job described by `args`. */
export function deltaShare(run: DeltaExports["delta_rows"], args: Int32Array, start: number, end: number): void {
  const inDim = args[DArg.inDim]!, r = args[DArg.r]!;
  run(args[DArg.a]!, args[DArg.b]! + start * r * 4, args[DArg.d]! + start * inDim * 4, end - start, inDim, r);
}

export function createTask(module: WebAssembly.Module, ctx: TaskContext): TaskShare {
  const memory = ctx.buffers[0] as WebAssembly.Memory;
  const run = (new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DeltaExports).delta_rows;
  return (_op, args, start, end) => deltaShare(run, args, start, end);
}
