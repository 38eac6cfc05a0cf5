// `--output-type gguf`: the merged (canonical) source as one GGUF file (canonical names, Q/K
// interleaved, tokenizer metadata from its tokenizer.model: the last LoRA's), F16 or any ggml
// type, through formats' writeGgufFromSource, so merge -> quantise -> run is one command.

import { basename, join } from "node:path";
import { GGMLType, ggmlTypeByName, ggmlTypeInfo, LlamatsError, type ProgressCallback } from "@llamats/tensor";
import { canQuantize, llamaQuantizeTypeFor } from "@llamats/quant";
import { gguf, writeGgufFromSource, type ModelSource, type SourceTensor } from "@llamats/formats";

export interface GgufWriteOptions {
  /** "f16" (default), "f32", "q8_0", "q4_0", ... */
  dtype?: string;
  /** general.name (default: the output folder's name). */
  name?: string;
  onProgress?: ProgressCallback;
}

export function ggmlTypeForDtype(dtype: string): GGMLType {
  const info = ggmlTypeByName(dtype);
  if (!info || info.name === "q8_k" || info.name.startsWith("i") || info.name === "f64") {
    throw new LlamatsError(`--dtype ${dtype}: not a ggml weight type (f16, f32, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K)`);
  }
  if (info.quantized && !canQuantize(info.id)) {
    const ok = QUANT_CANDIDATES.filter((t) => canQuantize(t)).map((t) => ggmlTypeInfo(t)!.name);
    throw new LlamatsError(`--dtype ${dtype}: llamats cannot quantise to ${info.name} (it can: ${ok.join(", ")})`);
  }
  return info.id;
}

const QUANT_CANDIDATES: GGMLType[] = [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0,
  GGMLType.Q2_K, GGMLType.Q3_K, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K];

/**
 * The type of each merged tensor: llama-quantize's rule (@llamats/quant llamaQuantizeTypeFor),
 * the one `llamats quantize` applies, so merge --dtype T and quantize T agree tensor for
 * tensor: norms F32, output.weight Q6_K for the Q4/Q5 types (Q8_0 when its rows are not
 * whole 256-blocks), fallbacks (ending in F16) for rows that are not whole blocks.
 */
export function mergeTypePolicy(type: GGMLType, hasOutput: boolean): (t: SourceTensor) => GGMLType {
  return (t) => llamaQuantizeTypeFor(t.name, t.shape, type, { hasOutput, sourceType: t.type });
}

/** Write `<outDir>/ggml-model-<dtype>.gguf` from `source`; returns the file name. */
export function writeMergedGguf(source: ModelSource, outDir: string, opts: GgufWriteOptions = {}): string {
  const type = ggmlTypeForDtype(opts.dtype ?? "f16");
  const name = opts.name ?? basename(outDir);
  const file = `ggml-model-${(opts.dtype ?? "f16").toLowerCase()}.gguf`;
  writeGgufFromSource(source, join(outDir, file), {
    typeFor: mergeTypePolicy(type, source.tensors.some((t) => t.name === "output.weight")),
    extraMetadata: [gguf.str("general.name", name)],
    onProgress: opts.onProgress,
  });
  return file;
}
