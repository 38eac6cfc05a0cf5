// @llamats/lora: PEFT LoRA adapters, the LoRA merger (a pure function over canonical tensor
// sources; HF / Meta .pth / GGUF written by formats' writers) and runtime LoRA deltas.
export * from "./merge.js";
export * from "./peft.js";
export * from "./adapter.js";
export * from "./base.js";
export * from "./checks.js";
export { mergedSource, firstNonFiniteF16, type MergeStats, type MergedSourceOptions } from "./merged-source.js";
export { writeHfFolder, copyTokenizerFiles, outputShardName, TOKENIZER_FILES, type HfWriteOptions } from "./write-hf.js";
export { writePth, writeMetaFromHf, metaShardCount, type PthWriteOptions } from "./write-pth.js";
export { writeMergedGguf, ggmlTypeForDtype, type GgufWriteOptions } from "./write-gguf.js";
export * from "./merge-model.js";
export * from "./verify.js";
export * from "./sha256-table.js";
export * from "./runtime.js";
export { deltaRowsScalar, loraDeltaRowsScalar } from "./delta-scalar.js";
export { packA, ROWS_PER_TILE } from "./delta-wasm.js";
