// GGUF metadata for a LLaMA model: llama.cpp's `llama.*` hyper-parameter keys (with the
// exact value types llama.cpp's loader checks) and, from a SentencePiece ModelProto, the
// `tokenizer.ggml.*` vocabulary (CHINESE-LLAMA-ALPACA.md §10).

import { readFileSync } from "node:fs";
import { GGMLType } from "@llamats/tensor";
import { parseModelProto, type ModelProto } from "@llamats/tokenizer";
import { GgufValueType, type GgufKV } from "../gguf/types.js";
import { gguf } from "../gguf/writer.js";
import type { LlamaHParams } from "../source/types.js";

/** general.file_type (llama_ftype) for the dominant weight type. */
export function llamaFileType(type: number): number | undefined {
  const m: Record<number, number> = {
    [GGMLType.F32]: 0, [GGMLType.F16]: 1, [GGMLType.Q4_0]: 2, [GGMLType.Q4_1]: 3, [GGMLType.Q8_0]: 7,
    [GGMLType.Q5_0]: 8, [GGMLType.Q5_1]: 9, [GGMLType.Q2_K]: 10, [GGMLType.Q3_K]: 12, [GGMLType.Q4_K]: 15,
    [GGMLType.Q5_K]: 17, [GGMLType.Q6_K]: 18, [GGMLType.BF16]: 32,
  };
  return m[type];
}

export function llamaHParamKv(hp: LlamaHParams, name: string): GgufKV[] {
  const kv: GgufKV[] = [gguf.str("general.architecture", "llama"), gguf.str("general.name", name)];
  const u = (k: string, v: number | undefined) => { if (v !== undefined) kv.push(gguf.u32(`llama.${k}`, v)); };
  const f = (k: string, v: number | undefined) => { if (v !== undefined) kv.push(gguf.f32(`llama.${k}`, v)); };
  u("vocab_size", hp.vocabSize);
  u("context_length", hp.contextLength ?? 2048);
  u("embedding_length", hp.embeddingLength);
  u("block_count", hp.blockCount);
  u("feed_forward_length", hp.feedForwardLength);
  u("rope.dimension_count", hp.ropeDimensionCount ?? (hp.embeddingLength && hp.headCount ? hp.embeddingLength / hp.headCount : undefined));
  u("attention.head_count", hp.headCount);
  u("attention.head_count_kv", hp.headCountKv ?? hp.headCount);
  f("attention.layer_norm_rms_epsilon", hp.rmsEps ?? 1e-6);
  if (hp.ropeFreqBase !== undefined) f("rope.freq_base", hp.ropeFreqBase);
  return kv;
}

/** A tokenizer given as a path to tokenizer.model, its bytes, or a parsed ModelProto. */
export type TokenizerInput = string | Uint8Array | ModelProto;

export function loadModelProto(t: TokenizerInput): ModelProto {
  if (typeof t === "string") return parseModelProto(new Uint8Array(readFileSync(t)), t);
  if (t instanceof Uint8Array) return parseModelProto(t);
  return t;
}

/** tokenizer.ggml.* keys for a SentencePiece (LLaMA-style BPE) vocabulary. */
export function tokenizerKv(proto: ModelProto): GgufKV[] {
  const ts = proto.trainerSpec;
  const kv: GgufKV[] = [
    gguf.str("tokenizer.ggml.model", "llama"),
    gguf.array("tokenizer.ggml.tokens", GgufValueType.STRING, proto.pieces.map((p) => p.piece)),
    gguf.array("tokenizer.ggml.scores", GgufValueType.FLOAT32, proto.pieces.map((p) => p.score)),
    gguf.array("tokenizer.ggml.token_type", GgufValueType.INT32, proto.pieces.map((p) => p.type)),
  ];
  const id = (k: string, v: number) => { if (v >= 0 && v < proto.pieces.length) kv.push(gguf.u32(`tokenizer.ggml.${k}`, v)); };
  id("bos_token_id", ts.bosId);
  id("eos_token_id", ts.eosId);
  id("unknown_token_id", ts.unkId);
  id("padding_token_id", ts.padId);
  kv.push(gguf.bool("tokenizer.ggml.add_bos_token", true), gguf.bool("tokenizer.ggml.add_eos_token", false));
  return kv;
}
