// TrainerInterface::Serialize / SaveVocab: the meta pieces (<unk>, <s>, </s>, then
// user-defined symbols and byte pieces at the next free ids, score 0, typed) interleaved
// with the learned pieces (NORMAL, type not written), the trainer_spec and normalizer_spec;
// and the .vocab text (piece TAB score, scores printed as C++ iostream prints a float).

import { LlamatsError } from "@llamats/tensor";
import { PieceType, type ModelProto, type SentencePiece } from "../proto/model-proto.js";
import { parseNormalizerSpec, parseTrainerSpec } from "../proto/specs.js";
import { ProtoReader } from "../proto/wire.js";
import type { TrainedPiece } from "./common.js";
import { FIXED } from "./options.js";

export interface MetaPiece {
  readonly piece: string;
  readonly type: number;
}

/** InitMetaPieces: id -> meta piece, for the fixed ids, user-defined symbols and bytes. */
export function metaPieces(userDefined: readonly string[], byteFallback: boolean): Map<number, MetaPiece> {
  const meta = new Map<number, MetaPiece>([
    [FIXED.unkId, { piece: FIXED.unkPiece, type: PieceType.UNKNOWN }],
    [FIXED.bosId, { piece: FIXED.bosPiece, type: PieceType.CONTROL }],
    [FIXED.eosId, { piece: FIXED.eosPiece, type: PieceType.CONTROL }],
  ]);
  const seen = new Set<string>();
  let id = 0;
  const add = (piece: string, type: number): void => {
    if (seen.has(piece) || piece === FIXED.unkPiece) throw new LlamatsError(`vocab-train: ${piece} is already defined`);
    seen.add(piece);
    // A user-defined <s> or </s> only retypes the fixed piece.
    for (const [k, m] of meta) {
      if (k !== FIXED.unkId && m.piece === piece) {
        meta.set(k, { piece, type });
        return;
      }
    }
    while (meta.has(id)) id++;
    meta.set(id, { piece, type });
  };
  for (const u of userDefined) add(u, PieceType.USER_DEFINED);
  if (byteFallback) for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, PieceType.BYTE);
  return meta;
}

export function buildModel(
  vocabSize: number,
  meta: ReadonlyMap<number, MetaPiece>,
  pieces: readonly TrainedPiece[],
  trainerSpec: Uint8Array,
  normalizerSpec: Uint8Array,
): ModelProto {
  const out: SentencePiece[] = [];
  const seen = new Set<string>();
  let next = 0;
  for (let id = 0; id < vocabSize; id++) {
    const m = meta.get(id);
    let p: SentencePiece | undefined;
    if (m) p = { piece: m.piece, score: 0, type: m.type, hasScore: true, hasType: true };
    else if (next < pieces.length) {
      const t = pieces[next++];
      p = { piece: t.piece, score: t.score, type: PieceType.NORMAL, hasScore: true, hasType: false };
    }
    if (!p) continue;
    if (seen.has(p.piece)) throw new LlamatsError(`vocab-train: piece ${JSON.stringify(p.piece)} is already defined`);
    seen.add(p.piece);
    out.push(p);
  }
  if (next !== pieces.length || out.length !== vocabSize) {
    throw new LlamatsError(
      `vocab-train: vocabulary size too high (${vocabSize}); this corpus gives at most ${meta.size + pieces.length} pieces. Please set it to a value <= ${meta.size + pieces.length}`,
    );
  }
  const ts = parseTrainerSpec(new ProtoReader(trainerSpec, "<trainer_spec>", "TrainerSpec"));
  const ns = parseNormalizerSpec(new ProtoReader(normalizerSpec, "<normalizer_spec>", "NormalizerSpec"));
  return { pieces: out, trainerSpec: ts, normalizerSpec: ns };
}

/** The .vocab file: one `piece<TAB>score` line per piece. */
export function vocabText(model: ModelProto): string {
  let s = "";
  for (const p of model.pieces) s += `${p.piece}\t${formatFloat(p.score)}\n`;
  return s;
}

/** `std::ostream << float` with the default precision: printf("%g") with 6 significant digits. */
export function formatFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  const [m, e] = v.toExponential(5).split("e");
  const x = Number(e);
  if (x < -4 || x >= 6) {
    const mant = m.includes(".") ? m.replace(/0+$/, "").replace(/\.$/, "") : m;
    const ax = Math.abs(x);
    return `${mant}e${x < 0 ? "-" : "+"}${ax < 10 ? "0" : ""}${ax}`;
  }
  const fixed = v.toFixed(Math.max(0, 5 - x));
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}
