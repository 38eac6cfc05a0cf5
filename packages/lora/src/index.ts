// @llamats/lora: PEFT LoRA adapters, the LoRA merger (HF / Meta .pth / GGUF outputs) and
// runtime LoRA deltas for the forward pass.
export * from "./merge.js";
export * from "./peft.js";
export * from "./meta-layout.js";
