// Which type each tensor gets when a model is quantised: llama.cpp's llama-quantize rules
// (llama_model_quantize_impl + llama_tensor_get_type, without an imatrix), so that
// `llamats quantize` and the LoRA merger write the same tensor types as llama.cpp for the
// same ftype. This file is the one table of type names both accept (quantizeFileTypes).
//
// - Only tensors whose name ends in "weight", with >= 2 dimensions and not `*_norm.weight`
//   are quantised; the rest keep their type (1-D float tensors become F32, as convert.py
//   writes them).
// - `output.weight` (or `token_embd.weight` when the model has no output matrix) becomes
//   Q6_K for quantised ftypes other than Q8_0, or Q8_0 when its row length is not a
//   multiple of 256; `--output-tensor-type` overrides, `--pure` skips the rule.
// - A row length that does not fit the chosen type's block falls back as llama.cpp does:
//   Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0 here (llama.cpp: IQ4_NL,
//   which llamats does not write), and F16 when even that does not fit. Each fallback is
//   reported (llamaQuantizeChoice's `wanted`), as llama.cpp prints it.
// - The mixtures (llama.cpp's Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M) give some
//   tensors more bits, by layer, for a dense LLaMA (no experts; llama.cpp's extra rules
//   for Falcon, MoE and its 70B type are not carried over):
//     Q2_K:   attn_v Q4_K when n_head / n_head_kv >= 4 else Q3_K; ffn_down Q3_K;
//             attn_output Q3_K; the rest Q2_K.
//     Q3_K_M: attn_v Q5_K in layers 0-1 else Q4_K; ffn_down Q5_K in the first n/16 layers,
//             else Q4_K; attn_output Q4_K; the rest Q3_K.
//     Q4_K_S: attn_v Q5_K in layers 0-3; ffn_down Q5_K in the first n/8 layers; rest Q4_K.
//     Q4_K_M / Q5_K_M: attn_v and ffn_down Q6_K where use_more_bits(layer, n) (the first
//             and last n/8 layers and every third between); the rest Q4_K / Q5_K.
//     Q5_K_S: uniform Q5_K.
//   q3_k, q4_k, q5_k (lower case or not) are the uniform types (file types of Q3_K_S,
//   Q4_K_S, Q5_K_S); output.weight gets its rule in every case.

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
  /** A mixture's layer rules (parseQuantizeType(...).mixture); none: every tensor gets the ftype. */
  readonly mixture?: QuantMixture;
  /** Layers of the model (the mixtures' rules depend on the layer's place). */
  readonly nLayers?: number;
  /** n_head / n_head_kv (Q2_K's attn_v rule). */
  readonly gqa?: number;
}

/** A named per-tensor mixture (llama.cpp's _S / _M ftypes with layer rules). */
export type QuantMixture = "q2_k" | "q3_k_m" | "q4_k_s" | "q4_k_m" | "q5_k_m";

export interface QuantizeFileType {
  readonly type: GGMLType;
  /** llama.cpp's general.file_type. */
  readonly fileType: number;
  readonly mixture?: QuantMixture;
}

/** The one table of type names `llamats quantize` and `merge --dtype` accept (any case). */
export const quantizeFileTypes: Readonly<Record<string, QuantizeFileType>> = {
  f32: { type: GGMLType.F32, fileType: 0 },
  f16: { type: GGMLType.F16, fileType: 1 },
  q4_0: { type: GGMLType.Q4_0, fileType: 2 },
  q4_1: { type: GGMLType.Q4_1, fileType: 3 },
  q8_0: { type: GGMLType.Q8_0, fileType: 7 },
  q5_0: { type: GGMLType.Q5_0, fileType: 8 },
  q5_1: { type: GGMLType.Q5_1, fileType: 9 },
  q2_k: { type: GGMLType.Q2_K, fileType: 10, mixture: "q2_k" }, // llama.cpp's Q2_K mixture
  q3_k: { type: GGMLType.Q3_K, fileType: 11 }, // LLAMA_FTYPE_MOSTLY_Q3_K_S: uniform Q3_K
  q3_k_s: { type: GGMLType.Q3_K, fileType: 11 },
  q3_k_m: { type: GGMLType.Q3_K, fileType: 12, mixture: "q3_k_m" },
  q4_k: { type: GGMLType.Q4_K, fileType: 14 }, // uniform Q4_K
  q4_k_s: { type: GGMLType.Q4_K, fileType: 14, mixture: "q4_k_s" },
  q4_k_m: { type: GGMLType.Q4_K, fileType: 15, mixture: "q4_k_m" },
  q5_k: { type: GGMLType.Q5_K, fileType: 16 }, // uniform Q5_K
  q5_k_s: { type: GGMLType.Q5_K, fileType: 16 }, // llama.cpp's Q5_K_S has no layer rules
  q5_k_m: { type: GGMLType.Q5_K, fileType: 17, mixture: "q5_k_m" },
  q6_k: { type: GGMLType.Q6_K, fileType: 18 },
  bf16: { type: GGMLType.BF16, fileType: 32 },
};

/** Parse a TYPE argument case-insensitively ("q4_0", "Q4_K", "f16"). */
export function parseQuantizeType(name: string): QuantizeFileType & { name: string } {
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

/** llama.cpp's use_more_bits: the first and last eighth of the layers and every third between. */
function useMoreBits(layer: number, nLayers: number): boolean {
  const e = Math.trunc(nLayers / 8);
  return layer < e || layer >= Math.trunc((7 * nLayers) / 8) || (layer - e) % 3 === 2;
}

/** The mixture's type for a block tensor (before the row-length fallback). */
function mixtureType(mixture: QuantMixture, name: string, ftype: GGMLType, opts: QuantizeTypeOptions): GGMLType {
  const m = /^blk\.(\d+)\.(attn_v|ffn_down|attn_output)\.weight$/.exec(name);
  if (!m) return ftype;
  const layer = Number(m[1]);
  const n = opts.nLayers ?? layer + 1;
  const kind = m[2];
  const T = GGMLType;
  switch (mixture) {
    case "q2_k":
      if (kind === "attn_v") return (opts.gqa ?? 1) >= 4 ? T.Q4_K : T.Q3_K;
      return T.Q3_K; // ffn_down, attn_output
    case "q3_k_m":
      if (kind === "attn_v") return layer < 2 ? T.Q5_K : T.Q4_K;
      if (kind === "ffn_down") return layer < Math.trunc(n / 16) ? T.Q5_K : T.Q4_K;
      return T.Q4_K;
    case "q4_k_s":
      if (kind === "attn_v") return layer < 4 ? T.Q5_K : ftype;
      if (kind === "ffn_down") return layer < Math.trunc(n / 8) ? T.Q5_K : ftype;
      return ftype;
    case "q4_k_m":
    case "q5_k_m":
      return kind !== "attn_output" && useMoreBits(layer, n) ? T.Q6_K : ftype;
  }
}

export interface QuantizeChoice {
  /** The type written. */
  readonly type: GGMLType;
  /** The type the rules chose, when the row length forced a fallback (llama.cpp warns). */
  readonly wanted?: GGMLType;
}

/**
 * The type llama-quantize gives tensor `name` of row-major `shape` (outer dimension first;
 * shape[shape.length - 1] is the row length, GGUF's ne[0]) under ftype type `ftype`, and the
 * type it wanted when the row length forced a fallback.
 */
export function llamaQuantizeChoice(name: string, shape: readonly number[], ftype: GGMLType,
  opts: QuantizeTypeOptions = {}): QuantizeChoice {
  const source = opts.sourceType ?? GGMLType.F32;
  const quantize = name.endsWith("weight") && shape.length >= 2 && !name.includes("_norm.weight")
    && !name.includes("ffn_gate_inp.weight");
  if (!quantize) return { type: shape.length < 2 && isFloat(source) ? GGMLType.F32 : source };
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
  } else if (!opts.pure && opts.mixture !== undefined) {
    type = mixtureType(opts.mixture, name, ftype, opts);
  }
  const got = fallbackFor(type, cols);
  return got === type ? { type } : { type: got, wanted: type };
}

/** llamaQuantizeChoice's type. */
export function llamaQuantizeTypeFor(name: string, shape: readonly number[], ftype: GGMLType,
  opts: QuantizeTypeOptions = {}): GGMLType {
  return llamaQuantizeChoice(name, shape, ftype, opts).type;
}

export interface QuantizeFallback {
  readonly name: string;
  /** Row length (GGUF ne[0]). */
  readonly cols: number;
  readonly wanted: GGMLType;
  readonly got: GGMLType;
}

/**
 * The type of every tensor of a model under `ftype` (parseQuantizeType's result: its
 * mixture applies), and the tensors that fell back (llama.cpp prints each): what
 * `llamats quantize` and `merge --output-type gguf --dtype` both write and report.
 */
export function llamaQuantizePlan(
  tensors: readonly { readonly name: string; readonly shape: readonly number[]; readonly type: GGMLType }[],
  ftype: QuantizeFileType,
  model: { readonly nLayers?: number; readonly nHeads?: number; readonly nKvHeads?: number },
  opts: Omit<QuantizeTypeOptions, "sourceType" | "hasOutput" | "mixture" | "nLayers" | "gqa"> = {},
): { types: Map<string, GGMLType>; fallbacks: QuantizeFallback[] } {
  const hasOutput = tensors.some((t) => t.name === "output.weight");
  const gqa = model.nHeads && model.nKvHeads ? model.nHeads / model.nKvHeads : undefined;
  const types = new Map<string, GGMLType>();
  const fallbacks: QuantizeFallback[] = [];
  for (const t of tensors) {
    const c = llamaQuantizeChoice(t.name, t.shape, ftype.type, {
      ...opts, hasOutput, sourceType: t.type, mixture: ftype.mixture, nLayers: model.nLayers, gqa,
    });
    types.set(t.name, c.type);
    if (c.wanted !== undefined) fallbacks.push({ name: t.name, cols: t.shape[t.shape.length - 1], wanted: c.wanted, got: c.type });
  }
  return { types, fallbacks };
}

/** llama.cpp's warning line for a fallback. */
export function formatFallback(f: QuantizeFallback): string {
  const n = (t: GGMLType) => ggmlTypeInfo(t)?.name ?? String(t);
  return `warning: ${f.name} - ncols ${f.cols} not divisible by ${ggmlTypeInfo(f.wanted)?.blockSize} (required for type ${n(f.wanted)}) -> falling back to ${n(f.got)}`;
}
