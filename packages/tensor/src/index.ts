export * from "./f16.js";
export * from "./ggml.js";
export * from "./errors.js";
export type * from "./backend.js";
export * from "./reference/index.js";
export { ThreadPool, taskModuleUrl, type ThreadPoolOptions, type DispatchStats } from "./pool/pool.js";
export { share, type SharedBuffer, type TaskContext, type TaskShare, type TaskModule } from "./pool/control.js";
export * from "./atomic.js";
export * from "./llama-config.js";
