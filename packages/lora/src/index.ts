// @llamats/lora: PEFT LoRA adapters, the LoRA merger (HF / Meta .pth / GGUF outputs) and
// runtime LoRA deltas for the forward pass.
export * from "./merge.js";
export * from "./peft.js";
export * from "./meta-layout.js";
export * from "./tensor-files.js";
export * from "./adapter.js";
export * from "./base-model.js";
export * from "./checks.js";
export { mergeToHfFolder, copyTokenizerFiles, TOKENIZER_FILES, type MergeStats, type HfMergeOptions } from "./merge-hf.js";
export { writeMetaFromHf, multipleOfFor, type PthWriteOptions } from "./write-pth.js";
export { writeGgufFromMergedHf, ggmlTypeForDtype, type GgufWriteOptions } from "./write-gguf.js";
export * from "./merge-model.js";
export * from "./verify.js";
export * from "./sha256-table.js";
export * from "./runtime.js";
