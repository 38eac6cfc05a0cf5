// Each file kind's statement of the LLaMA hyper-parameters, read into one partial
// LlamaConfigInput (names: tensor/llama-config.ts, which maps them to the GGUF keys), and
// the one builder of a frozen LlamaConfig from a ModelSource. Readers keep stated values
// only (absent = not stated); completeFromShapes fills a source's display config from its
// tensors, buildLlamaConfig (tensor) fills, validates and freezes for inference.

import { ConfigError, FormatError, buildLlamaConfig, type LlamaConfig, type LlamaConfigInput, type RopeScaling, type TensorShapes } from "@llamats/tensor";
import type { MetaParams } from "../meta.js";
import type { Llama2cConfig } from "../llama2c.js";
import type { ModelSource, SourceTensor } from "./types.js";

type Meta = Record<string, unknown>;

function dropUndefined(hp: LlamaConfigInput): LlamaConfigInput {
  for (const k of Object.keys(hp) as (keyof LlamaConfigInput)[]) if (hp[k] === undefined) delete hp[k];
  return hp;
}

/** A number field of a JSON config, or undefined; throws on a present non-number. */
export function numField(path: string, obj: Meta, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new FormatError(path, key, 0, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * GGUF metadata, `<arch>.*` keys, exact values (f32 keys as their float32 value; bigint
 * counts as numbers). Rope scaling: "linear" (or a factor != 1 without a type, and the old
 * `rope.scale_linear` key); other types are not supported.
 */
export function hparamsFromGguf(md: Meta, source = "gguf"): LlamaConfigInput {
  const arch = typeof md["general.architecture"] === "string" ? (md["general.architecture"] as string) : "llama";
  const n = (k: string): number | undefined => {
    const v = md[`${arch}.${k}`];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  };
  const tokens = md["tokenizer.ggml.tokens"];
  const scalingType = md[`${arch}.rope.scaling.type`];
  const factor = n("rope.scaling.factor") ?? n("rope.scale_linear");
  let ropeScaling: RopeScaling | undefined;
  if (scalingType === "linear" || (scalingType === undefined && factor !== undefined && factor !== 1)) {
    ropeScaling = { type: "linear", factor: factor ?? 1 };
  } else if (scalingType !== undefined && scalingType !== "none") {
    throw new ConfigError(source, `${arch}.rope.scaling.type`, `"${String(scalingType)}" is not supported`);
  }
  return dropUndefined({
    vocabSize: n("vocab_size") ?? (Array.isArray(tokens) ? tokens.length : undefined),
    contextLength: n("context_length"),
    embeddingLength: n("embedding_length"),
    blockCount: n("block_count"),
    feedForwardLength: n("feed_forward_length"),
    headCount: n("attention.head_count"),
    headCountKv: n("attention.head_count_kv"),
    keyLength: n("attention.key_length"),
    layerNormRmsEpsilon: n("attention.layer_norm_rms_epsilon"),
    ropeFreqBase: n("rope.freq_base"),
    ropeDimensionCount: n("rope.dimension_count"),
    ropeScaling,
  });
}

/** Hugging Face config.json. Rope scaling: "linear" only (NTK comes from --alpha). */
export function hparamsFromHfConfig(path: string, cfg: Meta): LlamaConfigInput {
  const hp: LlamaConfigInput = {
    vocabSize: numField(path, cfg, "vocab_size"),
    contextLength: numField(path, cfg, "max_position_embeddings"),
    embeddingLength: numField(path, cfg, "hidden_size"),
    blockCount: numField(path, cfg, "num_hidden_layers"),
    feedForwardLength: numField(path, cfg, "intermediate_size"),
    headCount: numField(path, cfg, "num_attention_heads"),
    headCountKv: numField(path, cfg, "num_key_value_heads"),
    keyLength: numField(path, cfg, "head_dim"),
    layerNormRmsEpsilon: numField(path, cfg, "rms_norm_eps"),
    ropeFreqBase: numField(path, cfg, "rope_theta"),
  };
  const rs = cfg.rope_scaling;
  if (rs !== undefined && rs !== null) {
    if (typeof rs !== "object" || Array.isArray(rs)) throw new FormatError(path, "rope_scaling", 0, "must be an object");
    const r = rs as Meta;
    const type = r.type ?? r.rope_type;
    if (type !== "linear") throw new ConfigError(path, "rope_scaling.type", `"${String(type)}" is not supported (use --alpha for NTK scaling)`);
    const factor = numField(path, r, "factor");
    if (factor === undefined) throw new ConfigError(path, "rope_scaling.factor", "missing");
    hp.ropeScaling = { type: "linear", factor };
  }
  dropUndefined(hp);
  if (hp.headCount !== undefined && (!Number.isInteger(hp.headCount) || hp.headCount <= 0)) {
    throw new FormatError(path, "num_attention_heads", 0, `${hp.headCount} is not a positive integer`);
  }
  return hp;
}

/** Meta params.json; vocab_size is -1 there (the embedding's rows decide). */
export function hparamsFromMetaParams(p: MetaParams): LlamaConfigInput {
  const hp: LlamaConfigInput = {
    embeddingLength: p.dim, blockCount: p.n_layers, headCount: p.n_heads, layerNormRmsEpsilon: p.norm_eps,
  };
  if (typeof p.dim === "number") {
    // llama/model.py FeedForward: int(2 * 4d / 3), times ffn_dim_multiplier, rounded up to multiple_of.
    const multipleOf = typeof p.multiple_of === "number" ? p.multiple_of : 256;
    let hidden = Math.floor((2 * 4 * p.dim) / 3);
    if (typeof p.ffn_dim_multiplier === "number") hidden = Math.floor(p.ffn_dim_multiplier * hidden);
    hp.feedForwardLength = multipleOf * Math.ceil(hidden / multipleOf);
  }
  if (typeof p.n_kv_heads === "number") hp.headCountKv = p.n_kv_heads;
  if (typeof p.rope_theta === "number") hp.ropeFreqBase = p.rope_theta;
  if (typeof p.vocab_size === "number" && p.vocab_size > 0) hp.vocabSize = p.vocab_size;
  if (typeof p.max_seq_len === "number") hp.contextLength = p.max_seq_len;
  return hp;
}

/** The llama2.c header (7 int32 fields); run.c's rmsnorm eps is 1e-5, its RoPE base 10000. */
export function hparamsFromLlama2c(c: Llama2cConfig): LlamaConfigInput {
  return {
    vocabSize: c.vocabSize, contextLength: c.seqLen, embeddingLength: c.dim, blockCount: c.nLayers,
    feedForwardLength: c.hiddenDim, headCount: c.nHeads, headCountKv: c.nKvHeads, layerNormRmsEpsilon: 1e-5,
    ropeFreqBase: 10000, ropeDimensionCount: c.dim / c.nHeads,
  };
}

/** Fill hyper-parameters a source leaves unstated from the canonical tensors' shapes (stated values stay). */
export function completeFromShapes(path: string, stated: LlamaConfigInput, tensors: readonly SourceTensor[]): LlamaConfigInput {
  const get = (n: string) => tensors.find((t) => t.name === n);
  const hp: LlamaConfigInput = { ...stated };
  const emb = get("token_embd.weight");
  if (emb && emb.shape.length === 2) {
    hp.vocabSize ??= emb.shape[0];
    hp.embeddingLength ??= emb.shape[1];
  }
  let blocks = 0;
  for (const t of tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
  }
  if (blocks > 0) hp.blockCount ??= blocks;
  const gate = get("blk.0.ffn_gate.weight");
  if (gate && gate.shape.length === 2) hp.feedForwardLength ??= gate.shape[0];
  if (hp.headCount && hp.embeddingLength) {
    const headDim = hp.keyLength ?? hp.embeddingLength / hp.headCount;
    hp.ropeDimensionCount ??= headDim;
    const k = get("blk.0.attn_k.weight");
    if (k && k.shape.length === 2 && Number.isInteger(k.shape[0] / headDim)) hp.headCountKv ??= k.shape[0] / headDim;
  }
  if (hp.headCount !== undefined) hp.headCountKv ??= hp.headCount;
  if (hp.headCount && hp.embeddingLength && hp.embeddingLength % hp.headCount !== 0) {
    throw new FormatError(path, "head count", 0, `embedding length ${hp.embeddingLength} is not a multiple of ${hp.headCount} heads`);
  }
  return hp;
}

/** The shortest decimal that rounds to the same float32. */
export function shortestF32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}

/** GGUF's f32 keys as the decimals that were written (1e-5, not its float32 expansion), for display and text formats. */
export function withShortF32(hp: LlamaConfigInput): LlamaConfigInput {
  const out = { ...hp };
  if (out.layerNormRmsEpsilon !== undefined) out.layerNormRmsEpsilon = shortestF32(out.layerNormRmsEpsilon);
  if (out.ropeFreqBase !== undefined) out.ropeFreqBase = shortestF32(out.ropeFreqBase);
  if (out.ropeScaling?.type === "linear") out.ropeScaling = { type: "linear", factor: shortestF32(out.ropeScaling.factor) };
  return out;
}

/** The minimal view of a model source the config needs (a ModelSource fits it). */
export type ConfigSource = Pick<ModelSource, "format" | "path" | "metadata" | "config" | "tensors">;

/**
 * The frozen LlamaConfig of a model source: its stated hyper-parameters with the tensor
 * shapes filling and overriding (buildLlamaConfig). GGUF sources are read from the
 * metadata's exact float32 values (source.config shows their shortest decimals).
 */
export function configFromSource(src: ConfigSource): LlamaConfig {
  const shapes: TensorShapes = new Map(src.tensors.map((t) => [t.name, t.shape]));
  let stated = src.config;
  if (src.format === "gguf") {
    const arch = src.metadata["general.architecture"] ?? "llama";
    if (arch !== "llama") throw new ConfigError(src.path, "general.architecture", `"${String(arch)}" is not supported (only "llama")`);
    stated = hparamsFromGguf(src.metadata, src.path);
  } else if (src.format === "peft") {
    throw new ConfigError(src.path, "format", "a PEFT adapter is not a model");
  }
  return buildLlamaConfig(stated, src.path, shapes);
}
