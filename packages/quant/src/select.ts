// Which type each tensor gets when a model is quantised: llama.cpp's llama-quantize rules
// (llama_model_quantize_impl + llama_tensor_get_type, without an imatrix and without the
// per-layer mixes of the _S/_M/_L ftypes), so that `llamats quantize` and the LoRA merger
// write the same tensor types as llama.cpp for the same ftype.
//
// - Only tensors whose name ends in "weight", with >= 2 dimensions and not `*_norm.weight`
//   are quantised; the rest keep their type (1-D float tensors become F32, as convert.py
//   writes them).
// - `output.weight` (or `token_embd.weight` when the model has no output matrix) becomes
//   Q6_K for quantised ftypes other than Q8_0, or Q8_0 when its row length is not a
//   multiple of 256; `--output-tensor-type` overrides, `--pure` skips the rule.
// - A row length that does not fit the chosen type's block falls back as llama.cpp does:
//   Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0 here (llama.cpp: IQ4_NL,
//   which llamats does not write), and F16 when even that does not fit.

import { GGMLType, LlamatsError, ggmlTypeByName, ggmlTypeInfo } from "@llamats/tensor";

export interface QuantizeTypeOptions {
  /** --pure: every quantised tensor gets the ftype's type (no output.weight rule). */
  readonly pure?: boolean;
  /** --output-tensor-type: the type of output.weight. */
  readonly outputTensorType?: GGMLType;
  /** --token-embedding-type: the type of token_embd.weight. */
  readonly tokenEmbeddingType?: GGMLType;
  /** Whether the model has an output.weight (false: tied embeddings, token_embd takes its rule). */
  readonly hasOutput?: boolean;
  /** The tensor's stored type (kept for tensors that are not quantised; default F32). */
  readonly sourceType?: GGMLType;
}

/** The ftypes `llamats quantize` accepts, by name, with llama.cpp's general.file_type. */
export const quantizeFileTypes: Readonly<Record<string, { type: GGMLType; fileType: number }>> = {
  f32: { type: GGMLType.F32, fileType: 0 },
  f16: { type: GGMLType.F16, fileType: 1 },
  q4_0: { type: GGMLType.Q4_0, fileType: 2 },
  q4_1: { type: GGMLType.Q4_1, fileType: 3 },
  q8_0: { type: GGMLType.Q8_0, fileType: 7 },
  q5_0: { type: GGMLType.Q5_0, fileType: 8 },
  q5_1: { type: GGMLType.Q5_1, fileType: 9 },
  q4_k: { type: GGMLType.Q4_K, fileType: 14 }, // LLAMA_FTYPE_MOSTLY_Q4_K_S: uniform Q4_K
  q5_k: { type: GGMLType.Q5_K, fileType: 16 }, // LLAMA_FTYPE_MOSTLY_Q5_K_S
  q6_k: { type: GGMLType.Q6_K, fileType: 18 },
  bf16: { type: GGMLType.BF16, fileType: 32 },
};

/** Parse a TYPE argument case-insensitively ("q4_0", "Q4_K", "f16"). */
export function parseQuantizeType(name: string): { name: string; type: GGMLType; fileType: number } {
  const key = name.toLowerCase();
  const e = quantizeFileTypes[key];
  if (!e) throw new LlamatsError(`unknown quantisation type "${name}" (expected one of ${Object.keys(quantizeFileTypes).join(", ")})`);
  return { name: key, ...e };
}

/** Parse a tensor type name such as "q6_k" or "F16" for --output-tensor-type. */
export function parseTensorType(name: string): GGMLType {
  const info = ggmlTypeByName(name);
  if (!info || info.id === GGMLType.Q8_1 || info.id === GGMLType.Q8_K || !(info.id in quantizeFileTypesByType)) {
    throw new LlamatsError(`unknown or unsupported tensor type "${name}"`);
  }
  return info.id;
}

const quantizeFileTypesByType: Record<number, true> = Object.fromEntries(
  Object.values(quantizeFileTypes).map((e) => [e.type, true]),
);

function isFloat(type: GGMLType): boolean {
  return type === GGMLType.F32 || type === GGMLType.F16 || type === GGMLType.BF16;
}

/** llama.cpp's fallback for a row length that does not fit the type's block. */
function fallbackFor(type: GGMLType, cols: number): GGMLType {
  const fits = (t: GGMLType): boolean => cols % (ggmlTypeInfo(t)?.blockSize ?? 1) === 0;
  if (fits(type)) return type;
  const next: Partial<Record<GGMLType, GGMLType>> = {
    [GGMLType.Q4_K]: GGMLType.Q5_0, [GGMLType.Q5_K]: GGMLType.Q5_1, [GGMLType.Q6_K]: GGMLType.Q8_0,
    [GGMLType.Q2_K]: GGMLType.Q4_0, [GGMLType.Q3_K]: GGMLType.Q4_0,
  };
  const t = next[type];
  return t !== undefined && fits(t) ? t : GGMLType.F16;
}

/**
 * The type llama-quantize gives tensor `name` of row-major `shape` (outer dimension first;
 * shape[shape.length - 1] is the row length, GGUF's ne[0]) under ftype type `ftype`.
 */
export function llamaQuantizeTypeFor(name: string, shape: readonly number[], ftype: GGMLType,
  opts: QuantizeTypeOptions = {}): GGMLType {
  const source = opts.sourceType ?? GGMLType.F32;
  const quantize = name.endsWith("weight") && shape.length >= 2 && !name.includes("_norm.weight")
    && !name.includes("ffn_gate_inp.weight");
  if (!quantize) return shape.length < 2 && isFloat(source) ? GGMLType.F32 : source;
  const cols = shape[shape.length - 1];
  let type = ftype;
  const isOutput = name === "output.weight" || (opts.hasOutput === false && name === "token_embd.weight");
  if (isOutput && opts.outputTensorType !== undefined) {
    type = opts.outputTensorType;
  } else if (name === "token_embd.weight" && !isOutput && opts.tokenEmbeddingType !== undefined) {
    type = opts.tokenEmbeddingType;
  } else if (!opts.pure && ggmlTypeInfo(ftype)?.quantized && isOutput) {
    if (cols % 256 !== 0) type = GGMLType.Q8_0;
    else if (ftype !== GGMLType.Q8_0) type = GGMLType.Q6_K;
  }
  return fallbackFor(type, cols);
}
