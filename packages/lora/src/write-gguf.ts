// `--output-type gguf`: the merged (canonical) source as one GGUF file (canonical names, Q/K
// interleaved, tokenizer metadata from its tokenizer.model: the last LoRA's), F16 or any ggml
// type, through formats' writeGgufFromSource, so merge -> quantise -> run is one command.

import { basename, join } from "node:path";
import type { GGMLType, ProgressCallback } from "@llamats/tensor";
import { llamaQuantizePlan, parseQuantizeType, type QuantizeFallback } from "@llamats/quant";
import { gguf, writeGgufFromSource, type ModelSource } from "@llamats/formats";

export interface GgufWriteOptions {
  /** "f16" (default), "f32", "q8_0", "q4_0", "q4_k_m", ...: @llamats/quant's quantizeFileTypes. */
  dtype?: string;
  /** Called for each tensor whose rows do not fit the chosen type (and what it got instead). */
  onFallback?: (f: QuantizeFallback) => void;
  /** general.name (default: the output folder's name). */
  name?: string;
  onProgress?: ProgressCallback;
}

/**
 * The --dtype of a GGUF merge: a name from @llamats/quant's one type table (the names
 * `llamats quantize` takes, mixtures included), refused with the same message.
 */
export function ggmlTypeForDtype(dtype: string): GGMLType {
  return parseQuantizeType(dtype).type;
}

/**
 * Write `<outDir>/ggml-model-<dtype>.gguf` from `source`; returns the file name. Each tensor
 * gets llama-quantize's type for that name (@llamats/quant llamaQuantizePlan, the plan
 * `llamats quantize` follows, so merge --dtype T and quantize T agree tensor for tensor); a
 * tensor whose rows do not fit falls back as llama.cpp does, and is reported to onFallback.
 */
export function writeMergedGguf(source: ModelSource, outDir: string, opts: GgufWriteOptions = {}): string {
  const ftype = parseQuantizeType(opts.dtype ?? "f16");
  const name = opts.name ?? basename(outDir);
  const file = `ggml-model-${ftype.name}.gguf`;
  const hp = source.config;
  const plan = llamaQuantizePlan(source.tensors, ftype, { nLayers: hp.blockCount, nHeads: hp.headCount, nKvHeads: hp.headCountKv });
  for (const f of plan.fallbacks) opts.onFallback?.(f);
  writeGgufFromSource(source, join(outDir, file), {
    typeFor: (t) => plan.types.get(t.name)!,
    extraMetadata: [gguf.str("general.name", name), gguf.u32("general.file_type", ftype.fileType)],
    onProgress: opts.onProgress,
  });
  return file;
}
