// @llamats/model: weights, KV cache and the forward pass as a plain function.
export * from "./rope-scaling.js";
export * from "./weights.js";
export * from "./kv-cache.js";
export * from "./state.js";
export { linear } from "./linear.js";
export { forward, forwardBatch, type BatchItem, type BatchResult, type ForwardOptions } from "./forward.js";
