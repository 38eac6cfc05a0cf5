// The vocabulary <-> GGUF metadata (llama.cpp's `tokenizer.ggml.*` keys for a SentencePiece
// "llama" tokenizer): tokens (string array), scores (f32 array), token_type (i32 array, the
// SentencePiece piece types), bos/eos/unknown/padding token ids. Reading is lenient about
// how a GGUF reader hands values over: plain arrays or typed arrays, numbers or bigints, or
// `{ value }` wrappers.

import { LlamatsError } from "@llamats/tensor";
import { PieceType, type ModelProto } from "./proto/model-proto.js";
import { ModelType } from "./proto/specs.js";
import { Vocab } from "./vocab.js";

export interface GgufTokenizerMetadata {
  "tokenizer.ggml.model": "llama";
  "tokenizer.ggml.tokens": string[];
  /** float32 array in GGUF */
  "tokenizer.ggml.scores": Float32Array;
  /** int32 array in GGUF */
  "tokenizer.ggml.token_type": Int32Array;
  "tokenizer.ggml.bos_token_id": number;
  "tokenizer.ggml.eos_token_id": number;
  "tokenizer.ggml.unknown_token_id": number;
  /** only when the model has a pad id */
  "tokenizer.ggml.padding_token_id"?: number;
  "tokenizer.ggml.add_bos_token": boolean;
  "tokenizer.ggml.add_eos_token": boolean;
  /** only written when false (llama.cpp's default is true) */
  "tokenizer.ggml.add_space_prefix"?: boolean;
}

/**
 * GGUF metadata for a SentencePiece model or vocabulary. `padId` overrides the model's pad
 * id (Chinese-Alpaca's `[PAD]`, id 49953, is a plain piece the trainer spec does not name).
 */
export function ggufTokenizerMetadata(source: ModelProto | Vocab, options: { padId?: number } = {}): GgufTokenizerMetadata {
  const vocab = source instanceof Vocab ? source : Vocab.fromModelProto(source);
  if (vocab.modelType !== ModelType.BPE) {
    throw new LlamatsError(`GGUF "llama" tokenizers are SentencePiece BPE; this model has model_type ${vocab.modelType}`);
  }
  const padId = options.padId ?? vocab.padId;
  const meta: GgufTokenizerMetadata = {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": vocab.pieces.slice(),
    "tokenizer.ggml.scores": vocab.scores.slice(),
    "tokenizer.ggml.token_type": Int32Array.from(vocab.types),
    "tokenizer.ggml.bos_token_id": vocab.bosId,
    "tokenizer.ggml.eos_token_id": vocab.eosId,
    "tokenizer.ggml.unknown_token_id": vocab.unkId,
    "tokenizer.ggml.add_bos_token": true,
    "tokenizer.ggml.add_eos_token": false,
  };
  if (padId >= 0) meta["tokenizer.ggml.padding_token_id"] = padId;
  if (!vocab.normalizer.addDummyPrefix) meta["tokenizer.ggml.add_space_prefix"] = false;
  return meta;
}

function unwrap(v: unknown): unknown {
  if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !Array.isArray(v) && "value" in v) {
    return (v as { value: unknown }).value;
  }
  return v;
}

function toNumber(v: unknown, key: string): number {
  v = unwrap(v);
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number") return v;
  throw new LlamatsError(`GGUF metadata ${key}: expected a number, got ${typeof v}`);
}

function toArray(v: unknown, key: string): ArrayLike<unknown> {
  v = unwrap(v);
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return v as unknown as ArrayLike<unknown>;
  throw new LlamatsError(`GGUF metadata ${key}: expected an array`);
}

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

/** A Vocab from GGUF metadata (`tokenizer.ggml.model` must be "llama", i.e. SentencePiece). */
export function vocabFromGgufMetadata(metadata: Record<string, unknown>): Vocab {
  const model = unwrap(metadata["tokenizer.ggml.model"]);
  if (model !== "llama") {
    throw new LlamatsError(`GGUF tokenizer.ggml.model is ${JSON.stringify(model)}; only "llama" (SentencePiece BPE) is supported`);
  }
  const rawTokens = toArray(metadata["tokenizer.ggml.tokens"], "tokenizer.ggml.tokens");
  const n = rawTokens.length;
  const tokens: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = unwrap(rawTokens[i]);
    if (typeof t !== "string") throw new LlamatsError(`GGUF metadata tokenizer.ggml.tokens[${i}] is not a string`);
    tokens[i] = t;
  }
  const scores = new Float32Array(n);
  if (metadata["tokenizer.ggml.scores"] !== undefined) {
    const s = toArray(metadata["tokenizer.ggml.scores"], "tokenizer.ggml.scores");
    if (s.length !== n) throw new LlamatsError(`GGUF metadata: ${s.length} scores for ${n} tokens`);
    for (let i = 0; i < n; i++) scores[i] = toNumber(s[i], "tokenizer.ggml.scores");
  }
  const types = new Uint8Array(n);
  if (metadata["tokenizer.ggml.token_type"] !== undefined) {
    const t = toArray(metadata["tokenizer.ggml.token_type"], "tokenizer.ggml.token_type");
    if (t.length !== n) throw new LlamatsError(`GGUF metadata: ${t.length} token types for ${n} tokens`);
    for (let i = 0; i < n; i++) {
      const ty = toNumber(t[i], "tokenizer.ggml.token_type");
      if (!(ty >= 1 && ty <= 6)) throw new LlamatsError(`GGUF metadata tokenizer.ggml.token_type[${i}] = ${ty} is not a piece type`);
      types[i] = ty;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = tokens[i];
      types[i] = p === "<unk>" ? PieceType.UNKNOWN : p === "<s>" || p === "</s>" ? PieceType.CONTROL : BYTE_PIECE.test(p) ? PieceType.BYTE : PieceType.NORMAL;
    }
  }
  const id = (key: string, fallback: number): number =>
    metadata[key] === undefined ? fallback : toNumber(metadata[key], key);
  const addSpace = unwrap(metadata["tokenizer.ggml.add_space_prefix"]);
  return new Vocab({
    pieces: tokens,
    scores,
    types,
    modelType: ModelType.BPE,
    unkId: id("tokenizer.ggml.unknown_token_id", Math.max(0, types.indexOf(PieceType.UNKNOWN))),
    bosId: id("tokenizer.ggml.bos_token_id", 1),
    eosId: id("tokenizer.ggml.eos_token_id", 2),
    padId: id("tokenizer.ggml.padding_token_id", -1),
    normalizer: { addDummyPrefix: addSpace === undefined ? true : Boolean(addSpace), removeExtraWhitespaces: false, escapeWhitespaces: true },
  });
}
