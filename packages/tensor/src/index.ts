export * from "./f16.js";
export * from "./ggml.js";
export * from "./errors.js";
export * from "./tensor.js";
export type * from "./backend.js";
export * from "./reference/index.js";
