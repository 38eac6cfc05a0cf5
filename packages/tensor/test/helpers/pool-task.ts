// A ThreadPool task for the pool's tests: op 0 writes, for each row i of its share,
// out[i] = f32(i * args[0] + 0.1 * thread-independent noise) into buffers[args[1]]; op 1
// throws in the worker whose index is args[0].

import type { TaskContext, TaskShare } from "@llamats/tensor";

export function fillRows(out: Float32Array, scale: number, start: number, end: number): void {
  for (let i = start; i < end; i++) out[i] = Math.fround(Math.sin(i) * scale + i * 0.1);
}

export function createTask(init: { offset: number }, ctx: TaskContext): TaskShare {
  return (op, args, start, end) => {
    if (op === 1) {
      if (args[0] === ctx.index) throw new Error(`share ${start}..${end} refused on purpose`);
      return;
    }
    const buf = ctx.buffers[args[1]!]!;
    const sab = buf instanceof WebAssembly.Memory ? buf.buffer : buf;
    fillRows(new Float32Array(sab, init.offset), args[0]!, start, end);
  };
}
