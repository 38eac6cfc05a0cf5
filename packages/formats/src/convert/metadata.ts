// GGUF metadata for a LLaMA model: llama.cpp's `llama.*` hyper-parameter keys (with the
// exact value types llama.cpp's loader checks) and, from a SentencePiece ModelProto, the
// `tokenizer.ggml.*` vocabulary (CHINESE-LLAMA-ALPACA.md §10).

import { GGMLType, type LlamaConfigInput } from "@llamats/tensor";
import { ggufTokenizerMetadata, parseModelProto, readModelProto, type ModelProto } from "@llamats/tokenizer";
import { GgufValueType, type GgufKV } from "../gguf/types.js";
import { gguf } from "../gguf/writer.js";

/** general.file_type (llama_ftype) for the dominant weight type. */
export function llamaFileType(type: number): number | undefined {
  const m: Record<number, number> = {
    [GGMLType.F32]: 0, [GGMLType.F16]: 1, [GGMLType.Q4_0]: 2, [GGMLType.Q4_1]: 3, [GGMLType.Q8_0]: 7,
    [GGMLType.Q5_0]: 8, [GGMLType.Q5_1]: 9, [GGMLType.Q2_K]: 10, [GGMLType.Q3_K]: 12, [GGMLType.Q4_K]: 15,
    [GGMLType.Q5_K]: 17, [GGMLType.Q6_K]: 18, [GGMLType.BF16]: 32,
  };
  return m[type];
}

export function llamaHParamKv(hp: LlamaConfigInput, name: string): GgufKV[] {
  const kv: GgufKV[] = [gguf.str("general.architecture", "llama"), gguf.str("general.name", name)];
  const u = (k: string, v: number | undefined) => { if (v !== undefined) kv.push(gguf.u32(`llama.${k}`, v)); };
  const f = (k: string, v: number | undefined) => { if (v !== undefined) kv.push(gguf.f32(`llama.${k}`, v)); };
  u("vocab_size", hp.vocabSize);
  u("context_length", hp.contextLength ?? 2048);
  u("embedding_length", hp.embeddingLength);
  u("block_count", hp.blockCount);
  u("feed_forward_length", hp.feedForwardLength);
  u("rope.dimension_count", hp.ropeDimensionCount ?? hp.keyLength ?? (hp.embeddingLength && hp.headCount ? hp.embeddingLength / hp.headCount : undefined));
  u("attention.head_count", hp.headCount);
  u("attention.head_count_kv", hp.headCountKv ?? hp.headCount);
  if (hp.keyLength !== undefined) u("attention.key_length", hp.keyLength);
  f("attention.layer_norm_rms_epsilon", hp.layerNormRmsEpsilon ?? 1e-6);
  if (hp.ropeFreqBase !== undefined) f("rope.freq_base", hp.ropeFreqBase);
  if (hp.ropeScaling?.type === "linear") {
    kv.push(gguf.str("llama.rope.scaling.type", "linear"));
    f("rope.scaling.factor", hp.ropeScaling.factor);
  }
  return kv;
}

/** A tokenizer given as a path to tokenizer.model, its bytes, or a parsed ModelProto. */
export type TokenizerInput = string | Uint8Array | ModelProto;

export function loadModelProto(t: TokenizerInput): ModelProto {
  if (typeof t === "string") return readModelProto(t);
  if (t instanceof Uint8Array) return parseModelProto(t);
  return t;
}

/**
 * tokenizer.ggml.* keys for a SentencePiece (LLaMA-style BPE) vocabulary: the tokenizer
 * package's ggufTokenizerMetadata, with the value types llama.cpp reads (u32 ids, f32
 * scores, i32 token types). `padId` overrides the model's pad id (Chinese-Alpaca's [PAD]).
 */
export function tokenizerKv(proto: ModelProto, options: { padId?: number } = {}): GgufKV[] {
  const m = ggufTokenizerMetadata(proto, options);
  const kv: GgufKV[] = [
    gguf.str("tokenizer.ggml.model", m["tokenizer.ggml.model"]),
    gguf.array("tokenizer.ggml.tokens", GgufValueType.STRING, m["tokenizer.ggml.tokens"]),
    gguf.array("tokenizer.ggml.scores", GgufValueType.FLOAT32, Array.from(m["tokenizer.ggml.scores"])),
    gguf.array("tokenizer.ggml.token_type", GgufValueType.INT32, Array.from(m["tokenizer.ggml.token_type"])),
    gguf.u32("tokenizer.ggml.bos_token_id", m["tokenizer.ggml.bos_token_id"]),
    gguf.u32("tokenizer.ggml.eos_token_id", m["tokenizer.ggml.eos_token_id"]),
    gguf.u32("tokenizer.ggml.unknown_token_id", m["tokenizer.ggml.unknown_token_id"]),
  ];
  const pad = m["tokenizer.ggml.padding_token_id"];
  if (pad !== undefined) kv.push(gguf.u32("tokenizer.ggml.padding_token_id", pad));
  kv.push(gguf.bool("tokenizer.ggml.add_bos_token", m["tokenizer.ggml.add_bos_token"]));
  kv.push(gguf.bool("tokenizer.ggml.add_eos_token", m["tokenizer.ggml.add_eos_token"]));
  const space = m["tokenizer.ggml.add_space_prefix"];
  if (space !== undefined) kv.push(gguf.bool("tokenizer.ggml.add_space_prefix", space));
  return kv;
}
