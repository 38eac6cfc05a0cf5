// Small SentencePiece models built in code for unit tests: LLaMA-like layout (<unk>, <s>,
// </s>, optional 256 byte pieces, then normal pieces with given scores).

import {
  DEFAULT_NORMALIZER_SPEC,
  DEFAULT_TRAINER_SPEC,
  ModelType,
  PieceType,
  Tokenizer,
  type ModelProto,
  type NormalizerSpec,
  type SentencePiece,
  type TrainerSpec,
} from "@llamats/tokenizer";

export interface SyntheticOptions {
  byteFallback?: boolean;
  /** [piece, score, type?] after the specials (and bytes) */
  pieces: Array<[string, number, number?]>;
  normalizer?: Partial<NormalizerSpec>;
  trainer?: Partial<TrainerSpec>;
}

export function syntheticModel(o: SyntheticOptions): ModelProto {
  const byteFallback = o.byteFallback ?? true;
  const pieces: SentencePiece[] = [
    { piece: "<unk>", score: 0, type: PieceType.UNKNOWN },
    { piece: "<s>", score: 0, type: PieceType.CONTROL },
    { piece: "</s>", score: 0, type: PieceType.CONTROL },
  ];
  if (byteFallback) {
    for (let b = 0; b < 256; b++) {
      pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, score: 0, type: PieceType.BYTE });
    }
  }
  for (const [piece, score, type] of o.pieces) pieces.push({ piece, score, type: type ?? PieceType.NORMAL });
  return {
    pieces,
    trainerSpec: {
      ...DEFAULT_TRAINER_SPEC,
      modelType: ModelType.BPE,
      vocabSize: pieces.length,
      byteFallback,
      ...o.trainer,
    },
    normalizerSpec: {
      ...DEFAULT_NORMALIZER_SPEC,
      name: "identity",
      removeExtraWhitespaces: false,
      ...o.normalizer,
    },
  };
}

export function syntheticTokenizer(o: SyntheticOptions): Tokenizer {
  return Tokenizer.fromModelProto(syntheticModel(o));
}

/** Index of the first normal piece in a synthetic model. */
export function firstNormalId(byteFallback = true): number {
  return byteFallback ? 259 : 3;
}
