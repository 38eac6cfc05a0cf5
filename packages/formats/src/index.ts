// @llamats/formats: readers and writers for the LLaMA ecosystem's files, and one
// model-level view (ModelSource) under canonical GGUF tensor names.

export * from "./source/types.js";
export { openModelSource, openModelSourceSync, sniffFile, type FileKind } from "./source/open.js";
export * from "./gguf/index.js";
export * from "./safetensors.js";
export * from "./llama2c.js";
export * from "./names.js";
export * from "./permute.js";
export * from "./convert/index.js";
export * from "./torch/index.js";
export * from "./meta.js";
export * from "./source/hparams.js";
export { openGgufSourceBytes } from "./source/gguf.js";
export { loadTokenizer } from "./tokenizer-file.js";
export { defaultReaderLimits, readerLimits, LIMITS_ENV, type ReaderLimits } from "./limits.js";
