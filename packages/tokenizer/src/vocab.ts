// The immutable vocabulary a Tokenizer runs on: pieces, scores and types indexed by id, the
// lookup tables SentencePiece's ModelInterface builds (`pieces_` for NORMAL, USER_DEFINED
// and UNUSED pieces, `reserved_id_map_` for the rest), special ids and normaliser flags.
// Built from a ModelProto or from GGUF metadata (see gguf-metadata.ts).

import { LlamatsError } from "@llamats/tensor";
import { PieceType, type ModelProto } from "./proto/model-proto.js";
import { ModelType } from "./proto/specs.js";

export interface NormalizerFlags {
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
}

export interface VocabInit {
  readonly pieces: readonly string[];
  readonly scores: ArrayLike<number>;
  readonly types: ArrayLike<number>;
  readonly modelType?: number;
  readonly unkId?: number;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  readonly byteFallback?: boolean;
  readonly normalizer?: Partial<NormalizerFlags>;
  readonly normalizerName?: string;
  readonly unkSurface?: string;
  /** normalizer_spec.precompiled_charsmap (empty or absent: no character map) */
  readonly precompiledCharsmap?: Uint8Array;
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

export class Vocab {
  readonly size: number;
  readonly pieces: readonly string[];
  // (size) float32 scores, as SentencePiece stores them
  readonly scores: Float32Array;
  // (size) PieceType per id
  readonly types: Uint8Array;
  readonly modelType: number;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly byteFallback: boolean;
  readonly normalizer: NormalizerFlags;
  readonly normalizerName: string;
  readonly unkSurface: string;
  readonly precompiledCharsmap: Uint8Array;
  /** NORMAL / USER_DEFINED / UNUSED pieces: the ones BPE merges may form. */
  readonly mergeable: ReadonlyMap<string, number>;
  /** CONTROL / UNKNOWN / BYTE pieces. */
  readonly reserved: ReadonlyMap<string, number>;
  /** byte value -> id of its `<0xNN>` piece, -1 where absent. */
  readonly byteIds: Int32Array;
  /** id -> byte value for BYTE pieces, -1 otherwise. */
  readonly byteOfId: Int16Array;
  readonly userDefined: readonly string[];
  /** Longest user-defined piece, in UTF-16 code units (0 when there are none). */
  readonly maxUserDefinedLength: number;

  constructor(init: VocabInit) {
    const n = init.pieces.length;
    if (n === 0) throw new LlamatsError("vocabulary has no pieces");
    if (init.scores.length !== n || init.types.length !== n) {
      throw new LlamatsError(`vocabulary arrays disagree: ${n} pieces, ${init.scores.length} scores, ${init.types.length} types`);
    }
    this.size = n;
    this.pieces = Object.freeze(init.pieces.slice());
    this.scores = Float32Array.from(init.scores as ArrayLike<number>);
    this.types = Uint8Array.from(init.types as ArrayLike<number>);
    this.modelType = init.modelType ?? ModelType.BPE;
    this.byteIds = new Int32Array(256).fill(-1);
    this.byteOfId = new Int16Array(n).fill(-1);
    const mergeable = new Map<string, number>();
    const reserved = new Map<string, number>();
    const userDefined: string[] = [];
    let unkId = -1;
    for (let id = 0; id < n; id++) {
      const piece = this.pieces[id];
      const type = this.types[id];
      const normal = type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
      const table = normal ? mergeable : reserved;
      // SentencePiece refuses duplicates; GGUF files converted from HF sometimes carry them,
      // so we keep the first id, as llama.cpp does.
      if (!table.has(piece)) table.set(piece, id);
      if (type === PieceType.USER_DEFINED) userDefined.push(piece);
      if (type === PieceType.UNKNOWN && unkId < 0) unkId = id;
      if (type === PieceType.BYTE) {
        const m = BYTE_PIECE.exec(piece);
        if (m) {
          const b = parseInt(m[1], 16);
          if (this.byteIds[b] < 0) this.byteIds[b] = id;
          this.byteOfId[id] = b;
        }
      }
    }
    this.mergeable = mergeable;
    this.reserved = reserved;
    this.userDefined = Object.freeze(userDefined);
    this.maxUserDefinedLength = userDefined.reduce((m, p) => Math.max(m, p.length), 0);
    this.unkId = init.unkId ?? (unkId >= 0 ? unkId : 0);
    this.bosId = init.bosId ?? 1;
    this.eosId = init.eosId ?? 2;
    this.padId = init.padId ?? -1;
    this.byteFallback = init.byteFallback ?? this.byteIds.some((id) => id >= 0);
    if (this.byteFallback && this.byteIds.some((id) => id < 0)) {
      throw new LlamatsError("byte fallback is on but some <0xNN> byte pieces are missing");
    }
    const nz = init.normalizer ?? {};
    this.normalizer = Object.freeze({
      addDummyPrefix: nz.addDummyPrefix ?? true,
      removeExtraWhitespaces: nz.removeExtraWhitespaces ?? false,
      escapeWhitespaces: nz.escapeWhitespaces ?? true,
      treatWhitespaceAsSuffix: nz.treatWhitespaceAsSuffix ?? false,
    });
    this.normalizerName = init.normalizerName ?? "identity";
    this.unkSurface = init.unkSurface ?? " \u2047 ";
    this.precompiledCharsmap = init.precompiledCharsmap ?? new Uint8Array(0);
    for (const [name, id] of [["unk", this.unkId], ["bos", this.bosId], ["eos", this.eosId]] as const) {
      if (id >= n) throw new LlamatsError(`${name} id ${id} is outside the vocabulary (${n} pieces)`);
    }
    Object.freeze(this);
  }

  static fromModelProto(model: ModelProto): Vocab {
    const t = model.trainerSpec;
    const nz = model.normalizerSpec;
    return new Vocab({
      pieces: model.pieces.map((p) => p.piece),
      scores: model.pieces.map((p) => p.score),
      types: model.pieces.map((p) => p.type),
      modelType: t.modelType,
      unkId: t.unkId,
      bosId: t.bosId,
      eosId: t.eosId,
      padId: t.padId,
      byteFallback: t.byteFallback,
      normalizer: {
        addDummyPrefix: nz.addDummyPrefix,
        removeExtraWhitespaces: nz.removeExtraWhitespaces,
        escapeWhitespaces: nz.escapeWhitespaces,
        treatWhitespaceAsSuffix: t.treatWhitespaceAsSuffix,
      },
      normalizerName: nz.name,
      unkSurface: t.unkSurface,
      precompiledCharsmap: nz.precompiledCharsmap,
    });
  }

  /** SentencePiece's PieceToId: reserved pieces first, then the rest, else unk. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }

  idToPiece(id: number): string {
    if (!(id >= 0 && id < this.size)) throw new LlamatsError(`token id ${id} is outside the vocabulary (${this.size} pieces)`);
    return this.pieces[id];
  }

  isControl(id: number): boolean {
    return this.types[id] === PieceType.CONTROL;
  }

  isUnknown(id: number): boolean {
    return id === this.unkId;
  }

  isByte(id: number): boolean {
    return this.types[id] === PieceType.BYTE;
  }
}
