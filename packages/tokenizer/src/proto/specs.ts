// SentencePiece's TrainerSpec and NormalizerSpec (sentencepiece_model.proto), the fields
// the tokenizer needs, typed. Each parsed spec keeps its raw payload so that re-encoding a
// model we read is byte-identical (including fields we do not model); a spec built in code
// (no `raw`) is encoded from its typed fields in field-number order, as protobuf does.

import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from "./wire.js";

export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

export interface TrainerSpec {
  readonly modelType: number;
  readonly vocabSize: number;
  readonly modelPrefix?: string;
  readonly splitDigits: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  readonly allowWhitespaceOnlyPieces: boolean;
  readonly controlSymbols: readonly string[];
  readonly userDefinedSymbols: readonly string[];
  readonly byteFallback: boolean;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkPiece: string;
  readonly bosPiece: string;
  readonly eosPiece: string;
  readonly padPiece: string;
  readonly unkSurface: string;
  /** The spec's bytes as read (payload, without tag/length); re-encoded verbatim. */
  readonly raw?: Uint8Array;
}

export interface NormalizerSpec {
  readonly name: string;
  readonly precompiledCharsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
  readonly normalizationRuleTsv: string;
  readonly raw?: Uint8Array;
}

/** Protobuf defaults from sentencepiece_model.proto. */
export const DEFAULT_TRAINER_SPEC: TrainerSpec = Object.freeze({
  modelType: ModelType.UNIGRAM,
  vocabSize: 8000,
  splitDigits: false,
  treatWhitespaceAsSuffix: false,
  allowWhitespaceOnlyPieces: false,
  controlSymbols: [],
  userDefinedSymbols: [],
  byteFallback: false,
  unkId: 0,
  bosId: 1,
  eosId: 2,
  padId: -1,
  unkPiece: "<unk>",
  bosPiece: "<s>",
  eosPiece: "</s>",
  padPiece: "<pad>",
  unkSurface: " \u2047 ",
});

export const DEFAULT_NORMALIZER_SPEC: NormalizerSpec = Object.freeze({
  name: "",
  precompiledCharsmap: new Uint8Array(0),
  addDummyPrefix: true,
  removeExtraWhitespaces: true,
  escapeWhitespaces: true,
  normalizationRuleTsv: "",
});

function int32(v: number): number {
  return v | 0;
}

export function parseTrainerSpec(r: ProtoReader): TrainerSpec {
  const start = r.pos;
  const s: { -readonly [K in keyof TrainerSpec]: TrainerSpec[K] } = {
    ...DEFAULT_TRAINER_SPEC,
    controlSymbols: [],
    userDefinedSymbols: [],
  };
  const control: string[] = [];
  const user: string[] = [];
  while (!r.done) {
    const f = r.field();
    const str = (name: string): string => (r.expectWire(f, WIRE_LEN, name), r.string(f, name));
    const num = (name: string): number => (r.expectWire(f, WIRE_VARINT, name), f.value);
    switch (f.fieldNo) {
      case 2: s.modelPrefix = str("model_prefix"); break;
      case 3: s.modelType = num("model_type"); break;
      case 4: s.vocabSize = int32(num("vocab_size")); break;
      case 24: s.treatWhitespaceAsSuffix = num("treat_whitespace_as_suffix") !== 0; break;
      case 25: s.splitDigits = num("split_digits") !== 0; break;
      case 26: s.allowWhitespaceOnlyPieces = num("allow_whitespace_only_pieces") !== 0; break;
      case 30: control.push(str("control_symbols")); break;
      case 31: user.push(str("user_defined_symbols")); break;
      case 35: s.byteFallback = num("byte_fallback") !== 0; break;
      case 40: s.unkId = int32(num("unk_id")); break;
      case 41: s.bosId = int32(num("bos_id")); break;
      case 42: s.eosId = int32(num("eos_id")); break;
      case 43: s.padId = int32(num("pad_id")); break;
      case 44: s.unkSurface = str("unk_surface"); break;
      case 45: s.unkPiece = str("unk_piece"); break;
      case 46: s.bosPiece = str("bos_piece"); break;
      case 47: s.eosPiece = str("eos_piece"); break;
      case 48: s.padPiece = str("pad_piece"); break;
      default: break; // kept in `raw`
    }
  }
  s.controlSymbols = control;
  s.userDefinedSymbols = user;
  s.raw = r.bytes.slice(start, r.end);
  return Object.freeze(s);
}

export function parseNormalizerSpec(r: ProtoReader): NormalizerSpec {
  const start = r.pos;
  const s: { -readonly [K in keyof NormalizerSpec]: NormalizerSpec[K] } = { ...DEFAULT_NORMALIZER_SPEC };
  while (!r.done) {
    const f = r.field();
    const num = (name: string): number => (r.expectWire(f, WIRE_VARINT, name), f.value);
    switch (f.fieldNo) {
      case 1: r.expectWire(f, WIRE_LEN, "name"); s.name = r.string(f, "name"); break;
      case 2: r.expectWire(f, WIRE_LEN, "precompiled_charsmap"); s.precompiledCharsmap = r.payload(f).slice(); break;
      case 3: s.addDummyPrefix = num("add_dummy_prefix") !== 0; break;
      case 4: s.removeExtraWhitespaces = num("remove_extra_whitespaces") !== 0; break;
      case 5: s.escapeWhitespaces = num("escape_whitespaces") !== 0; break;
      case 6: r.expectWire(f, WIRE_LEN, "normalization_rule_tsv"); s.normalizationRuleTsv = r.string(f, "normalization_rule_tsv"); break;
      default: break;
    }
  }
  s.raw = r.bytes.slice(start, r.end);
  return Object.freeze(s);
}

export function encodeTrainerSpec(s: TrainerSpec): Uint8Array {
  if (s.raw) return s.raw;
  const w = new ProtoWriter();
  if (s.modelPrefix !== undefined) w.string(2, s.modelPrefix);
  w.varintField(3, s.modelType);
  w.varintField(4, s.vocabSize);
  w.varintField(24, s.treatWhitespaceAsSuffix ? 1 : 0);
  w.varintField(25, s.splitDigits ? 1 : 0);
  w.varintField(26, s.allowWhitespaceOnlyPieces ? 1 : 0);
  for (const c of s.controlSymbols) w.string(30, c);
  for (const u of s.userDefinedSymbols) w.string(31, u);
  w.varintField(35, s.byteFallback ? 1 : 0);
  w.varintField(40, s.unkId);
  w.varintField(41, s.bosId);
  w.varintField(42, s.eosId);
  w.varintField(43, s.padId);
  w.string(44, s.unkSurface);
  w.string(45, s.unkPiece);
  w.string(46, s.bosPiece);
  w.string(47, s.eosPiece);
  w.string(48, s.padPiece);
  return w.finish();
}

export function encodeNormalizerSpec(s: NormalizerSpec): Uint8Array {
  if (s.raw) return s.raw;
  const w = new ProtoWriter();
  w.string(1, s.name);
  if (s.precompiledCharsmap.length > 0) w.lenDelimited(2, s.precompiledCharsmap);
  w.varintField(3, s.addDummyPrefix ? 1 : 0);
  w.varintField(4, s.removeExtraWhitespaces ? 1 : 0);
  w.varintField(5, s.escapeWhitespaces ? 1 : 0);
  if (s.normalizationRuleTsv) w.string(6, s.normalizationRuleTsv);
  return w.finish();
}
