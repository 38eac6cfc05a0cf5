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
// A BpeEncoder is the per-call state: scratch arrays reused from call to call (grown on
// demand), so one encoder must not run two encodings at once (JS never does).

import { PieceType } from "./proto/model-proto.js";
import { PairHeap } from "./heap.js";
import { pairTableOf, type PairTable } from "./pair-table.js";
import type { Vocab } from "./vocab.js";

export class BpeEncoder {
  private readonly table: PairTable;
  private readonly heap = new PairHeap();
  private readonly userSet: Set<string> | null;
  // (capacity) per symbol: span in the normalised text, list links, mergeable id or -1
  private start = new Int32Array(256);
  private end = new Int32Array(256);
  private prev = new Int32Array(256);
  private next = new Int32Array(256);
  private symId = new Int32Array(256);
  private frozen = new Uint8Array(256);
  private revMerge: Map<string, [string, string]> | null = null;
  private normalized = "";

  // Output of the last segment(): `count` symbols as spans + ids.
  outStart = new Int32Array(256);
  outEnd = new Int32Array(256);
  outId = new Int32Array(256);
  count = 0;

  constructor(private readonly vocab: Vocab) {
    this.table = pairTableOf(vocab);
    this.userSet = vocab.maxUserDefinedLength > 0 ? new Set(vocab.userDefined) : null;
  }

  private reserve(n: number): void {
    if (n <= this.start.length) return;
    let cap = this.start.length;
    while (cap < n) cap *= 2;
    this.start = new Int32Array(cap);
    this.end = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.symId = new Int32Array(cap);
    this.frozen = new Uint8Array(cap);
    this.outStart = new Int32Array(cap);
    this.outEnd = new Int32Array(cap);
    this.outId = new Int32Array(cap);
  }

  /** Segments `normalized`; results in outStart/outEnd/outId[0, count). */
  segment(normalized: string): void {
    const n = normalized.length;
    this.reserve(n);
    this.normalized = normalized;
    this.revMerge = null;
    const { start, end, prev, next, symId, frozen, table, vocab, userSet } = this;
    const mergeable = vocab.mergeable;
    const bmp = table.bmpCharId;

    let count = 0;
    for (let pos = 0; pos < n; ) {
      let len = 0;
      let id = -1;
      frozen[count] = 0;
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
          id = bmp[c];
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

    const heap = this.heap;
    heap.clear();
    for (let i = 1; i < count; i++) this.tryPair(i - 1, i);

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
      this.tryPair(prev[left], left);
      this.tryPair(left, next[left]);
    }

    // Collect the surviving symbols in order; UNUSED pieces are split back (rare).
    const { outStart, outEnd, outId } = this;
    const types = vocab.types;
    let k = 0;
    for (let i = count > 0 ? 0 : -1; i >= 0; i = next[i]) {
      let id = symId[i];
      if (id < 0) id = vocab.pieceToId(normalized.substring(start[i], end[i]));
      if (this.revMerge && types[id] === PieceType.UNUSED) {
        const parts: Array<[number, number, number]> = [];
        this.resegment(start[i], end[i], parts);
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
    this.count = k;
  }

  private tryPair(left: number, right: number): void {
    if (left < 0 || right < 0 || this.frozen[left] || this.frozen[right]) return;
    const a = this.symId[left];
    const b = this.symId[right];
    const start = this.start;
    const end = this.end;
    let id: number;
    if (a >= 0 && b >= 0) {
      id = this.table.get(a, b);
      if (id < 0) return;
    } else {
      id = this.vocab.mergeable.get(this.normalized.substring(start[left], end[right])) ?? -1;
      if (id < 0) return;
    }
    this.heap.push(this.vocab.scores[id], left, right, end[right] - start[left]);
    if (this.vocab.types[id] === PieceType.UNUSED) {
      const s = this.normalized;
      this.revMerge ??= new Map();
      this.revMerge.set(s.substring(start[left], end[right]), [s.substring(start[left], end[left]), s.substring(start[right], end[right])]);
    }
  }

  private resegment(s: number, e: number, out: Array<[number, number, number]>): void {
    const piece = this.normalized.substring(s, e);
    const id = this.vocab.pieceToId(piece);
    const pair = this.vocab.types[id] === PieceType.UNUSED ? this.revMerge!.get(piece) : undefined;
    if (!pair) {
      out.push([s, e, id]);
      return;
    }
    this.resegment(s, s + pair[0].length, out);
    this.resegment(s + pair[0].length, e, out);
  }
}
