// SentencePiece BPE encoding (bpe_model.cc, Model::SampleEncode without dropout):
//  1. split the normalised text into characters (a user-defined piece, longest match, is
//     one frozen symbol that never merges);
//  2. push every adjacent pair whose concatenation is a NORMAL/USER_DEFINED/UNUSED piece
//     onto a heap (highest score, ties leftmost);
//  3. pop, skip stale pairs, merge, push the two new neighbour pairs; repeat;
//  4. UNUSED pieces are split back into the pair that formed them.
// Symbols are [start, end) spans of the normalised string in a doubly linked list, so a
// merge is O(log n) and the only strings built are candidate pieces for the Map lookup.

import { PieceType } from "./proto/model-proto.js";
import { PairHeap } from "./heap.js";
import type { Vocab } from "./vocab.js";

/** One output symbol: its span in the normalised text and its id (unk when not a piece). */
export interface BpeSymbols {
  readonly normalized: string;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly id: Int32Array;
  readonly count: number;
}

export function bpeSegment(vocab: Vocab, normalized: string): BpeSymbols {
  const n = normalized.length;
  // (nSymbols) per initial symbol: span, links, merged id (-1 until known), frozen flag
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const symId = new Int32Array(n).fill(-1);
  const frozen = new Uint8Array(n);
  const mergeable = vocab.mergeable;
  const userSet = vocab.maxUserDefinedLength > 0 ? new Set(vocab.userDefined) : null;

  let count = 0;
  for (let pos = 0; pos < n; ) {
    let len = 0;
    if (userSet) {
      for (let l = Math.min(vocab.maxUserDefinedLength, n - pos); l > 0; l--) {
        if (userSet.has(normalized.substring(pos, pos + l))) {
          len = l;
          frozen[count] = 1;
          break;
        }
      }
    }
    if (len === 0) {
      const c = normalized.charCodeAt(pos);
      len = c >= 0xd800 && c <= 0xdbff && pos + 1 < n ? 2 : 1;
    }
    start[count] = pos;
    end[count] = pos + len;
    prev[count] = count - 1;
    next[count] = pos + len < n ? count + 1 : -1;
    count++;
    pos += len;
  }

  const heap = new PairHeap();
  let revMerge: Map<string, [string, string]> | null = null;
  const scores = vocab.scores;
  const types = vocab.types;

  const tryPair = (left: number, right: number): void => {
    if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
    const piece = normalized.substring(start[left], end[right]);
    const id = mergeable.get(piece);
    if (id === undefined) return;
    heap.push(scores[id], left, right, piece.length);
    if (types[id] === PieceType.UNUSED) {
      revMerge ??= new Map();
      revMerge.set(piece, [
        normalized.substring(start[left], end[left]),
        normalized.substring(start[right], end[right]),
      ]);
    }
  };

  for (let i = 1; i < count; i++) tryPair(i - 1, i);

  while (heap.length > 0) {
    const top = heap.pop();
    const left = heap.leftOf(top);
    const right = heap.rightOf(top);
    // Stale when either side is gone or has grown since the pair was pushed.
    if (end[left] === start[left] || end[right] === start[right]) continue;
    if (end[left] - start[left] + (end[right] - start[right]) !== heap.sizeOf(top)) continue;
    end[left] = end[right];
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    end[right] = start[right]; // empty: removed
    symId[left] = -1;
    tryPair(prev[left], left);
    tryPair(left, next[left]);
  }

  // Collect the surviving symbols in order, resolving ids (and UNUSED resegmentation).
  const outStart: number[] = [];
  const outEnd: number[] = [];
  const outId: number[] = [];
  const emit = (s: number, e: number): void => {
    const piece = normalized.substring(s, e);
    const id = vocab.pieceToId(piece);
    const pair = revMerge && types[id] === PieceType.UNUSED ? revMerge.get(piece) : undefined;
    if (pair) {
      emit(s, s + pair[0].length);
      emit(s + pair[0].length, e);
      return;
    }
    outStart.push(s);
    outEnd.push(e);
    outId.push(id);
  };
  for (let i = count > 0 ? 0 : -1; i >= 0; i = next[i]) emit(start[i], end[i]);
  return {
    normalized,
    start: Int32Array.from(outStart),
    end: Int32Array.from(outEnd),
    id: Int32Array.from(outId),
    count: outId.length,
  };
}
