// LlamaConfig: the frozen hyper-parameters of a LLaMA model, one type for every package.
// Field names are the camelCase of llama.cpp's GGUF keys without the `llama.` prefix:
//
//   embeddingLength      llama.embedding_length                (HF hidden_size, Meta dim)
//   blockCount           llama.block_count                     (num_hidden_layers, n_layers)
//   feedForwardLength    llama.feed_forward_length             (intermediate_size, from multiple_of)
//   headCount            llama.attention.head_count            (num_attention_heads, n_heads)
//   headCountKv          llama.attention.head_count_kv         (num_key_value_heads, n_kv_heads)
//   keyLength            llama.attention.key_length            (head_dim; default embeddingLength / headCount)
//   ropeDimensionCount   llama.rope.dimension_count            (default keyLength)
//   vocabSize            llama.vocab_size                      (rows of token_embd.weight)
//   contextLength        llama.context_length                  (max_position_embeddings, seq_len)
//   layerNormRmsEpsilon  llama.attention.layer_norm_rms_epsilon (rms_norm_eps, norm_eps)
//   ropeFreqBase         llama.rope.freq_base                  (rope_theta)
//   ropeScaling          llama.rope.scaling.type / .factor     (rope_scaling; NTK from --alpha)
//
// formats reads each file kind's statement of these (source/hparams.ts) into a partial
// LlamaConfigInput; buildLlamaConfig, here, fills what a file leaves out from the tensor
// shapes (which win when both are present), validates and freezes. Bad or contradictory
// values raise a ConfigError naming source and field.

import { LlamatsError } from "./errors.js";

/**
 * RoPE scaling.
 * - none: standard RoPE.
 * - linear: position interpolation, angle uses pos / factor.
 * - ntk: the Chinese-LLaMA-Alpaca NTK patch: base' = base * alpha^(d/(d-2)), d = keyLength;
 *   alpha "auto" recomputes alpha = (seqLen/1024 - 1) * 1.1 per forward call once the
 *   sequence is longer than the training context (model/rope-scaling.ts).
 */
export type RopeScaling =
  | { readonly type: "none" }
  | { readonly type: "linear"; readonly factor: number }
  | { readonly type: "ntk"; readonly alpha: number | "auto" };

export interface LlamaConfig {
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly headCount: number;
  readonly headCountKv: number;
  /** Dimensions of one attention head. */
  readonly keyLength: number;
  /** Dimensions of each head that RoPE rotates (keyLength for LLaMA). */
  readonly ropeDimensionCount: number;
  readonly feedForwardLength: number;
  readonly vocabSize: number;
  readonly layerNormRmsEpsilon: number;
  readonly ropeFreqBase: number;
  /** Training context length (2048 for LLaMA-1 / Chinese-LLaMA); NTK "auto" starts past it. */
  readonly contextLength: number;
  readonly ropeScaling: RopeScaling;
}

/** What a file states (absent = not stated), before shapes fill the rest and validation. */
export type LlamaConfigInput = { -readonly [K in keyof LlamaConfig]?: LlamaConfig[K] };

export class ConfigError extends LlamatsError {
  constructor(readonly source: string, readonly field: string, detail: string) {
    super(`${source}: ${field}: ${detail}`);
  }
}

/** Shapes of the tensors that pin hyper-parameters down (canonical GGUF names). */
export type TensorShapes = ReadonlyMap<string, readonly number[]>;

function posInt(src: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(src, field, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function posNum(src: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(src, field, `expected a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate, fill from shapes, and freeze. Defaults: eps 1e-6, base 10000, context 2048. */
export function buildLlamaConfig(input: LlamaConfigInput, source = "config", shapes?: TensorShapes): LlamaConfig {
  const c: LlamaConfigInput = { ...input };
  const embd = shapes?.get("token_embd.weight");
  if (embd && embd.length === 2) {
    if (c.embeddingLength !== undefined && c.embeddingLength !== embd[1]) {
      throw new ConfigError(source, "embeddingLength", `${c.embeddingLength} but token_embd.weight has ${embd[1]} columns`);
    }
    c.embeddingLength ??= embd[1];
    c.vocabSize = embd[0]; // the embedding is what the forward pass indexes
  }
  const gate = shapes?.get("blk.0.ffn_gate.weight");
  if (gate && gate.length === 2) c.feedForwardLength = gate[0];
  if (c.blockCount === undefined && shapes) {
    let n = 0;
    while (shapes.has(`blk.${n}.attn_q.weight`)) n++;
    if (n > 0) c.blockCount = n;
  }

  const embeddingLength = posInt(source, "embeddingLength", c.embeddingLength);
  const headCount = posInt(source, "headCount", c.headCount);
  const headCountKv = posInt(source, "headCountKv", c.headCountKv ?? headCount);
  if (headCount % headCountKv !== 0) throw new ConfigError(source, "headCountKv", `${headCount} heads is not a multiple of ${headCountKv} KV heads`);
  const keyLength = posInt(source, "keyLength", c.keyLength ?? embeddingLength / headCount);
  const ropeDimensionCount = posInt(source, "ropeDimensionCount", c.ropeDimensionCount ?? keyLength);
  if (ropeDimensionCount % 2 !== 0 || ropeDimensionCount > keyLength) {
    throw new ConfigError(source, "ropeDimensionCount", `${ropeDimensionCount} must be even and <= keyLength ${keyLength}`);
  }
  const scaling = c.ropeScaling ?? { type: "none" };
  checkScaling(source, scaling);
  const config: LlamaConfig = {
    embeddingLength,
    blockCount: posInt(source, "blockCount", c.blockCount),
    headCount,
    headCountKv,
    keyLength,
    ropeDimensionCount,
    feedForwardLength: posInt(source, "feedForwardLength", c.feedForwardLength),
    vocabSize: posInt(source, "vocabSize", c.vocabSize),
    layerNormRmsEpsilon: posNum(source, "layerNormRmsEpsilon", c.layerNormRmsEpsilon ?? 1e-6),
    ropeFreqBase: posNum(source, "ropeFreqBase", c.ropeFreqBase ?? 10000),
    contextLength: posInt(source, "contextLength", c.contextLength ?? 2048),
    ropeScaling: Object.freeze({ ...scaling }),
  };
  return Object.freeze(config);
}

function checkScaling(source: string, s: RopeScaling): void {
  if (s.type === "none") return;
  if (s.type === "linear") {
    posNum(source, "ropeScaling.factor", s.factor);
    return;
  }
  if (s.type === "ntk") {
    if (s.alpha !== "auto") posNum(source, "ropeScaling.alpha", s.alpha);
    return;
  }
  throw new ConfigError(source, "ropeScaling.type", `unknown type ${JSON.stringify((s as { type: unknown }).type)}`);
}

/** The same config with another RoPE scaling (e.g. the CLI's --alpha). */
export function withRopeScaling(config: LlamaConfig, ropeScaling: RopeScaling): LlamaConfig {
  return buildLlamaConfig({ ...config, ropeScaling }, "ropeScaling");
}

/** Parse a CLI-style alpha: a positive number or "auto". */
export function ntkScaling(alpha: number | string): RopeScaling {
  if (alpha === "auto") return { type: "ntk", alpha: "auto" };
  const a = typeof alpha === "number" ? alpha : Number(alpha);
  if (!Number.isFinite(a) || a <= 0) throw new ConfigError("--alpha", "alpha", `expected a positive number or "auto", got ${JSON.stringify(alpha)}`);
  return a === 1 ? { type: "none" } : { type: "ntk", alpha: a };
}
