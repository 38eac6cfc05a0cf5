// A SentencePiece `tokenizer.model` rebuilt from GGUF's tokenizer.ggml.* metadata, for
// conversions out of GGUF (--to hf / pth) when no tokenizer.model sits beside the source.
// GGUF keeps the pieces, scores, types and special ids; the trainer / normalizer specs are
// LLaMA's (BPE, byte fallback, split digits, identity normaliser, dummy prefix unless
// add_space_prefix is false), so the rebuilt model encodes like the original.

import { FormatError } from "@llamats/tensor";
import {
  DEFAULT_NORMALIZER_SPEC, DEFAULT_TRAINER_SPEC, ModelType, PieceType, encodeModelProto, type ModelProto,
} from "@llamats/tokenizer";

function idOf(md: Record<string, unknown>, key: string, fallback: number): number {
  const v = md[`tokenizer.ggml.${key}`];
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : fallback;
}

/** The ModelProto of a GGUF's "llama" (SentencePiece) vocabulary, or undefined when it has none. */
export function modelProtoFromGguf(path: string, md: Record<string, unknown>): ModelProto | undefined {
  if (md["tokenizer.ggml.model"] !== "llama") return undefined;
  const tokens = md["tokenizer.ggml.tokens"];
  const scores = md["tokenizer.ggml.scores"];
  const types = md["tokenizer.ggml.token_type"];
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== "string")) throw new FormatError(path, "tokenizer.ggml.tokens", 0, "not an array of strings");
  const n = tokens.length;
  if (scores !== undefined && (!Array.isArray(scores) || scores.length !== n)) throw new FormatError(path, "tokenizer.ggml.scores", 0, `must hold ${n} numbers`);
  if (types !== undefined && (!Array.isArray(types) || types.length !== n)) throw new FormatError(path, "tokenizer.ggml.token_type", 0, `must hold ${n} numbers`);
  const pieces = (tokens as string[]).map((piece, i) => {
    const type = types ? Number((types as unknown[])[i]) : PieceType.NORMAL;
    if (!(type >= 1 && type <= 6)) throw new FormatError(path, "tokenizer.ggml.token_type", 0, `token ${i} has type ${type}`);
    return { piece, score: scores ? Number((scores as unknown[])[i]) : 0, type, hasScore: true, hasType: type !== PieceType.NORMAL };
  });
  return {
    pieces,
    trainerSpec: {
      ...DEFAULT_TRAINER_SPEC,
      modelType: ModelType.BPE,
      vocabSize: n,
      splitDigits: true,
      allowWhitespaceOnlyPieces: true,
      byteFallback: pieces.some((p) => p.type === PieceType.BYTE),
      unkId: idOf(md, "unknown_token_id", 0),
      bosId: idOf(md, "bos_token_id", 1),
      eosId: idOf(md, "eos_token_id", 2),
      padId: idOf(md, "padding_token_id", -1),
    },
    normalizerSpec: {
      ...DEFAULT_NORMALIZER_SPEC,
      name: "identity",
      addDummyPrefix: md["tokenizer.ggml.add_space_prefix"] !== false,
      removeExtraWhitespaces: false,
    },
  };
}

/** tokenizer.model bytes for a GGUF's vocabulary, or undefined. */
export function tokenizerModelFromGguf(path: string, md: Record<string, unknown>): Uint8Array | undefined {
  const proto = modelProtoFromGguf(path, md);
  return proto ? encodeModelProto(proto) : undefined;
}
