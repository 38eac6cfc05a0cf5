// The inference pool's task (loaded by every worker thread of the ThreadPool): matmul,
// attention and SwiGLU shares over the shared kernel memories (runner.ts).

import type { TaskContext, TaskShare } from "@llamats/tensor";
import { JobRunner } from "./runner.js";

export interface InferenceTaskInit {
  readonly module: WebAssembly.Module;
  readonly kernelNames: string[];
}

export function createTask(init: InferenceTaskInit, ctx: TaskContext): TaskShare {
  // ctx.buffers grows as the backend opens memories: the runner reads it live.
  const runner = new JobRunner(init.module, ctx.buffers as WebAssembly.Memory[], init.kernelNames);
  return (op, args, start, end) => runner.run(op, args, start, end);
}
