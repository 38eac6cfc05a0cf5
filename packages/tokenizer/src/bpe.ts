// SentencePiece BPE encoding (bpe_model.cc, Model::SampleEncode without dropout):
//  1. split the normalised text into characters (a user-defined piece, longest match, is
//     one frozen symbol that never merges);
//  2. push every adjacent pair whose concatenation is a NORMAL/USER_DEFINED/UNUSED piece
//     onto a heap (highest score, ties leftmost);
//  3. pop, skip stale pairs, merge, push the two new neighbour pairs; repeat;
//  4. UNUSED pieces are split back into the pair that formed them.
// Symbols are [start, end) spans of the normalised string in a doubly linked list, each with
// its piece id when it is a mergeable piece (-1 otherwise), so a merge is O(log n) and
// candidate lookups are integer hashes (pair-table.ts); only symbols that are not pieces
// fall back to building the concatenated string.

import { PieceType } from "./proto/model-proto.js";
import { PairHeap } from "./heap.js";
import { pairTableOf } from "./pair-table.js";
import type { Vocab } from "./vocab.js";

/** The segmentation: spans of the normalised text and their ids (unk when not a piece). */
export interface BpeSymbols {
  readonly normalized: string;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly id: Int32Array;
  readonly count: number;
}

export function bpeSegment(vocab: Vocab, normalized: string): BpeSymbols {
  const n = normalized.length;
  const table = pairTableOf(vocab);
  // (nSymbols) per initial symbol: span, links, mergeable id or -1, frozen flag
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const symId = new Int32Array(n);
  const frozen = new Uint8Array(n);
  const mergeable = vocab.mergeable;
  const userSet = vocab.maxUserDefinedLength > 0 ? new Set(vocab.userDefined) : null;

  let count = 0;
  for (let pos = 0; pos < n; ) {
    let len = 0;
    let id = -1;
    if (userSet) {
      for (let l = Math.min(vocab.maxUserDefinedLength, n - pos); l > 0; l--) {
        const s = normalized.substring(pos, pos + l);
        if (userSet.has(s)) {
          len = l;
          id = mergeable.get(s) ?? -1;
          frozen[count] = 1;
          break;
        }
      }
    }
    if (len === 0) {
      const c = normalized.charCodeAt(pos);
      if (c >= 0xd800 && c <= 0xdbff && pos + 1 < n) {
        len = 2;
        id = table.astralCharId.get(normalized.substring(pos, pos + 2)) ?? -1;
      } else {
        len = 1;
        id = table.bmpCharId[c];
      }
    }
    start[count] = pos;
    end[count] = pos + len;
    prev[count] = count - 1;
    next[count] = pos + len < n ? count + 1 : -1;
    symId[count] = id;
    count++;
    pos += len;
  }

  const heap = new PairHeap();
  let revMerge: Map<string, [string, string]> | null = null;
  const scores = vocab.scores;
  const types = vocab.types;

  const tryPair = (left: number, right: number): void => {
    if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
    const a = symId[left];
    const b = symId[right];
    let id: number;
    if (a >= 0 && b >= 0) {
      id = table.get(a, b);
      if (id < 0) return;
    } else {
      id = mergeable.get(normalized.substring(start[left], end[right])) ?? -1;
      if (id < 0) return;
    }
    heap.push(scores[id], left, right, end[right] - start[left]);
    if (types[id] === PieceType.UNUSED) {
      revMerge ??= new Map();
      revMerge.set(normalized.substring(start[left], end[right]), [
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
    const a = symId[left];
    const b = symId[right];
    const merged = a >= 0 && b >= 0 ? table.get(a, b) : -1;
    end[left] = end[right];
    symId[left] = merged >= 0 ? merged : (mergeable.get(normalized.substring(start[left], end[left])) ?? -1);
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    end[right] = start[right]; // empty: removed
    tryPair(prev[left], left);
    tryPair(left, next[left]);
  }

  // Collect the surviving symbols in order; UNUSED pieces are split back (rare).
  const outStart = new Int32Array(count);
  const outEnd = new Int32Array(count);
  const outId = new Int32Array(count);
  let k = 0;
  for (let i = count > 0 ? 0 : -1; i >= 0; i = next[i]) {
    let id = symId[i];
    if (id < 0) id = vocab.pieceToId(normalized.substring(start[i], end[i]));
    if (revMerge && types[id] === PieceType.UNUSED) {
      const parts: Array<[number, number, number]> = [];
      resegment(vocab, revMerge, normalized, start[i], end[i], parts);
      // Each part spans at least one character, so k never exceeds count.
      for (const [s, e, pid] of parts) {
        outStart[k] = s;
        outEnd[k] = e;
        outId[k++] = pid;
      }
      continue;
    }
    outStart[k] = start[i];
    outEnd[k] = end[i];
    outId[k++] = id;
  }
  return { normalized, start: outStart, end: outEnd, id: outId, count: k };
}

function resegment(
  vocab: Vocab,
  revMerge: Map<string, [string, string]>,
  normalized: string,
  s: number,
  e: number,
  out: Array<[number, number, number]>,
): void {
  const piece = normalized.substring(s, e);
  const id = vocab.pieceToId(piece);
  const pair = vocab.types[id] === PieceType.UNUSED ? revMerge.get(piece) : undefined;
  if (!pair) {
    out.push([s, e, id]);
    return;
  }
  resegment(vocab, revMerge, normalized, s, s + pair[0].length, out);
  resegment(vocab, revMerge, normalized, s + pair[0].length, e, out);
}
