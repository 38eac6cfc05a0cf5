// SentencePiece's ModelProto (sentencepiece_model.proto), decoded and encoded by hand:
//   1 pieces (repeated SentencePiece {1 piece: string, 2 score: float, 3 type: enum})
//   2 trainer_spec, 3 normalizer_spec, 4 self_test_data, 5 denormalizer_spec.
// Scope: everything is read; pieces and specs are typed, the rest (self-test data, unknown
// fields) is kept as bytes. Encoding writes fields in field-number order, as protobuf's
// own serialisers do, and writes a piece's score/type only where the file had them (a piece
// built in code writes its score, and its type unless NORMAL, like Python's protobuf after
// `p.piece = ..; p.score = ..`), so read -> encode is byte-identical.

import { FormatError } from "@llamats/tensor";
import {
  DEFAULT_NORMALIZER_SPEC,
  DEFAULT_TRAINER_SPEC,
  encodeNormalizerSpec,
  encodeTrainerSpec,
  parseNormalizerSpec,
  parseTrainerSpec,
  type NormalizerSpec,
  type TrainerSpec,
} from "./specs.js";
import { ProtoReader, ProtoWriter, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, type WireField } from "./wire.js";
import { decodeAt } from "../utf8.js";

/** SentencePiece piece types (also GGUF's `tokenizer.ggml.token_type` values). */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: number;
  /** Whether the file stored score / type explicitly (defaults otherwise: 0, NORMAL). */
  readonly hasScore?: boolean;
  readonly hasType?: boolean;
  /** Unknown fields of this piece, re-emitted verbatim. */
  readonly extra?: Uint8Array;
}

export interface ModelProto {
  readonly pieces: readonly SentencePiece[];
  readonly trainerSpec: TrainerSpec;
  readonly normalizerSpec: NormalizerSpec;
  readonly denormalizerSpec?: NormalizerSpec;
  /** self_test_data, kept as its payload bytes. */
  readonly selfTestData?: Uint8Array;
  /** Unknown top-level fields, whole (tags included), in file order. */
  readonly extra?: Uint8Array;
}

const MAX_PIECES = 1 << 22; // far above any real vocabulary; guards giant allocations

function parsePiece(r: ProtoReader): SentencePiece {
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.NORMAL;
  let hasScore = false;
  let hasType = false;
  const extras: Uint8Array[] = [];
  const at = r.pos;
  while (!r.done) {
    const f = r.field();
    if (f.fieldNo === 1) {
      r.expectWire(f, WIRE_LEN, "piece");
      piece = r.string(f, "piece");
    } else if (f.fieldNo === 2) {
      r.expectWire(f, WIRE_FIXED32, "score");
      score = new Float32Array(new Uint32Array([f.value]).buffer)[0];
      hasScore = true;
    } else if (f.fieldNo === 3) {
      r.expectWire(f, WIRE_VARINT, "type");
      type = f.value;
      if (type < 1 || type > 6) r.fail("type", f.start, `unknown piece type ${type}`);
      hasType = true;
    } else {
      extras.push(r.raw(f));
    }
  }
  if (piece === undefined) r.fail("piece", at, "piece without its string (field 1)");
  const p: SentencePiece = { piece, score, type, hasScore, hasType };
  return extras.length ? { ...p, extra: concat(extras) } : p;
}

/**
 * The common encoding of a piece, parsed without allocating: 0A len piece [15 f32] [18 type],
 * one-byte length and type. Returns null for anything else (the generic parser handles it).
 */
function parsePieceFast(bytes: Uint8Array, view: DataView, start: number, end: number): SentencePiece | null {
  if (bytes[start] !== 0x0a) return null;
  const len = bytes[start + 1];
  if (len >= 0x80) return null;
  let pos = start + 2;
  const strEnd = pos + len;
  if (strEnd > end) return null;
  let piece = "";
  for (let i = pos; i < strEnd; ) {
    const b = bytes[i];
    if (b < 0x80) {
      piece += String.fromCharCode(b);
      i++;
      continue;
    }
    const { cp, len: n } = decodeAt(bytes, i, strEnd);
    if (cp < 0) return null; // let the strict generic path report it
    piece += String.fromCodePoint(cp);
    i += n;
  }
  pos = strEnd;
  let score = 0;
  let type: number = PieceType.NORMAL;
  let hasScore = false;
  let hasType = false;
  if (pos < end && bytes[pos] === 0x15) {
    if (pos + 5 > end) return null;
    score = view.getFloat32(pos + 1, true);
    hasScore = true;
    pos += 5;
  }
  if (pos < end && bytes[pos] === 0x18) {
    if (pos + 2 > end) return null;
    type = bytes[pos + 1];
    if (type < 1 || type > 6) return null;
    hasType = true;
    pos += 2;
  }
  if (pos !== end) return null;
  return { piece, score, type, hasScore, hasType };
}

/** Decodes a `tokenizer.model` file. Bad bytes -> FormatError(file, field, offset). */
export function parseModelProto(bytes: Uint8Array, file = "<ModelProto>"): ModelProto {
  const r = new ProtoReader(bytes, file, "ModelProto");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: SentencePiece[] = [];
  let trainerSpec: TrainerSpec | undefined;
  let normalizerSpec: NormalizerSpec | undefined;
  let denormalizerSpec: NormalizerSpec | undefined;
  let selfTestData: Uint8Array | undefined;
  const extras: Uint8Array[] = [];
  const sub = (f: WireField, ctx: string): ProtoReader => new ProtoReader(bytes, file, ctx, f.payloadStart, f.payloadEnd);
  while (!r.done) {
    const f = r.field();
    switch (f.fieldNo) {
      case 1:
        r.expectWire(f, WIRE_LEN, "pieces");
        if (pieces.length >= MAX_PIECES) r.fail("pieces", f.start, `more than ${MAX_PIECES} pieces`);
        pieces.push(
          parsePieceFast(bytes, view, f.payloadStart, f.payloadEnd) ??
            parsePiece(sub(f, `ModelProto.pieces[${pieces.length}]`)),
        );
        break;
      case 2:
        r.expectWire(f, WIRE_LEN, "trainer_spec");
        trainerSpec = parseTrainerSpec(sub(f, "ModelProto.trainer_spec"));
        break;
      case 3:
        r.expectWire(f, WIRE_LEN, "normalizer_spec");
        normalizerSpec = parseNormalizerSpec(sub(f, "ModelProto.normalizer_spec"));
        break;
      case 4:
        r.expectWire(f, WIRE_LEN, "self_test_data");
        selfTestData = r.payload(f).slice();
        break;
      case 5:
        r.expectWire(f, WIRE_LEN, "denormalizer_spec");
        denormalizerSpec = parseNormalizerSpec(sub(f, "ModelProto.denormalizer_spec"));
        break;
      default:
        extras.push(r.raw(f));
    }
  }
  if (pieces.length === 0) throw new FormatError(file, "ModelProto.pieces", 0, "no pieces (not a SentencePiece model?)");
  const model: ModelProto = {
    pieces,
    trainerSpec: trainerSpec ?? DEFAULT_TRAINER_SPEC,
    normalizerSpec: normalizerSpec ?? DEFAULT_NORMALIZER_SPEC,
    ...(denormalizerSpec ? { denormalizerSpec } : {}),
    ...(selfTestData ? { selfTestData } : {}),
    ...(extras.length ? { extra: concat(extras) } : {}),
  };
  return model;
}

/** Serialises a ModelProto; a model read by parseModelProto comes back byte-identical. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  for (const p of model.pieces) {
    // Each piece is a length-delimited sub-message; its size is known up front.
    const str = utf8.encode(p.piece);
    const writeScore = p.hasScore ?? true;
    const writeType = p.hasType ?? p.type !== PieceType.NORMAL;
    const size =
      1 + varintSize(str.length) + str.length + (writeScore ? 5 : 0) + (writeType ? 1 + varintSize(p.type) : 0) + (p.extra?.length ?? 0);
    w.tag(1, WIRE_LEN);
    w.varint(size);
    w.lenDelimited(1, str);
    if (writeScore) w.float32(2, p.score);
    if (writeType) w.varintField(3, p.type);
    if (p.extra) w.bytes(p.extra);
  }
  w.lenDelimited(2, encodeTrainerSpec(model.trainerSpec));
  w.lenDelimited(3, encodeNormalizerSpec(model.normalizerSpec));
  if (model.selfTestData) w.lenDelimited(4, model.selfTestData);
  if (model.denormalizerSpec) w.lenDelimited(5, encodeNormalizerSpec(model.denormalizerSpec));
  if (model.extra) w.bytes(model.extra);
  return w.finish();
}

const utf8 = new TextEncoder();

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
