// `--output-type gguf`: the merged model as one GGUF file (canonical names, Q/K interleaved,
// tokenizer metadata from the last LoRA's tokenizer.model), F16 or any ggml type, through
// formats' writeGgufFromSource, so merge -> quantise -> run is one command. Reads the
// merged tensors from a staged HF safetensors folder one at a time.

import { basename, join } from "node:path";
import { ggmlTypeByName, LlamatsError, type GGMLType, type ProgressCallback } from "@llamats/tensor";
import { dtypePolicy, gguf, openModelSourceSync, writeGgufFromSource } from "@llamats/formats";

export interface GgufWriteOptions {
  /** "f16" (default), "f32", "q8_0", "q4_0", ... */
  dtype?: string;
  /** general.name (default: the output folder's name). */
  name?: string;
  onProgress?: ProgressCallback;
}

export function ggmlTypeForDtype(dtype: string): GGMLType {
  const info = ggmlTypeByName(dtype);
  if (!info || info.name === "q8_k" || info.name.startsWith("i")) {
    throw new LlamatsError(`--dtype ${dtype}: not a ggml weight type (f16, f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K..q6_K)`);
  }
  return info.id;
}

/** Write `<outDir>/<file>` from the merged HF folder `stagedHf`; returns the file name. */
export function writeGgufFromMergedHf(stagedHf: string, outDir: string, opts: GgufWriteOptions = {}): string {
  const type = ggmlTypeForDtype(opts.dtype ?? "f16");
  const name = opts.name ?? basename(outDir);
  const file = `ggml-model-${(opts.dtype ?? "f16").toLowerCase()}.gguf`;
  const src = openModelSourceSync(stagedHf, { format: "hf" });
  try {
    writeGgufFromSource(src, join(outDir, file), {
      typeFor: dtypePolicy(type),
      extraMetadata: [gguf.str("general.name", name)],
      onProgress: opts.onProgress,
    });
  } finally {
    src.close();
  }
  return file;
}
