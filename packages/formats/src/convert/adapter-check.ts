// A PEFT LoRA adapter opens as a ModelSource (format "peft", lora_A / lora_B tensors) so that
// `inspect` can show it, but it is not a model: converting or quantising it would write a
// "llama" file that nothing can load. Writers that want a model call refuseAdapter first.

import { LlamatsError } from "@llamats/tensor";
import type { ModelSource } from "../source/types.js";

export function refuseAdapter(source: ModelSource): void {
  if (source.format !== "peft") return;
  throw new LlamatsError(
    `${source.path} is a PEFT LoRA adapter, not a model: merge it into its base with ` +
      `\`llamats merge --base BASE --lora ${source.path} --output-type gguf --out DIR\`, or apply it at run time with \`--lora ${source.path}\``,
  );
}
