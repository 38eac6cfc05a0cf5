// Integer lookup tables for the BPE hot loop, built once per vocabulary (lazily, ~50 ms for
// 50k pieces): a character -> piece id table, and an open-addressing hash map
// (leftId, rightId) -> id of the piece pieces[left] + pieces[right], holding every way to
// split every mergeable piece into two mergeable pieces. With them a merge candidate costs
// two integer hashes instead of building a substring and hashing it. Symbols that are not
// pieces (unknown characters) still go through the string Map (see bpe.ts).

import type { Vocab } from "./vocab.js";

export class PairTable {
  // (capacity) open addressing; keyLeft = -1 marks an empty slot
  private readonly keyLeft: Int32Array;
  private readonly keyRight: Int32Array;
  private readonly value: Int32Array;
  private readonly mask: number;
  /** BMP code unit -> mergeable id of that one-character piece, -1 if none. */
  readonly bmpCharId: Int32Array;
  /** Astral characters (surrogate pairs) -> mergeable id. */
  readonly astralCharId: ReadonlyMap<string, number>;

  constructor(vocab: Vocab) {
    const m = vocab.mergeable;
    const pairs: number[] = []; // (left, right, merged) triples
    this.bmpCharId = new Int32Array(65536).fill(-1);
    const astral = new Map<string, number>();
    for (const [piece, id] of m) {
      const len = piece.length;
      if (len === 1) this.bmpCharId[piece.charCodeAt(0)] = id;
      else if (len === 2 && isHighSurrogate(piece.charCodeAt(0))) astral.set(piece, id);
      for (let k = 1; k < len; k++) {
        if (isHighSurrogate(piece.charCodeAt(k - 1))) continue; // never split a surrogate pair
        const left = m.get(piece.substring(0, k));
        if (left === undefined) continue;
        const right = m.get(piece.substring(k));
        if (right === undefined) continue;
        pairs.push(left, right, id);
      }
    }
    this.astralCharId = astral;
    let cap = 16;
    while (cap < (pairs.length / 3) * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyLeft = new Int32Array(cap).fill(-1);
    this.keyRight = new Int32Array(cap);
    this.value = new Int32Array(cap);
    for (let i = 0; i < pairs.length; i += 3) this.insert(pairs[i], pairs[i + 1], pairs[i + 2]);
  }

  private slot(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) & this.mask;
  }

  private insert(left: number, right: number, id: number): void {
    let s = this.slot(left, right);
    for (;;) {
      if (this.keyLeft[s] === -1) {
        this.keyLeft[s] = left;
        this.keyRight[s] = right;
        this.value[s] = id;
        return;
      }
      if (this.keyLeft[s] === left && this.keyRight[s] === right) return; // same string, same id
      s = (s + 1) & this.mask;
    }
  }

  /** Id of pieces[left] + pieces[right] when it is a mergeable piece, else -1. */
  get(left: number, right: number): number {
    let s = this.slot(left, right);
    for (;;) {
      const k = this.keyLeft[s];
      if (k === -1) return -1;
      if (k === left && this.keyRight[s] === right) return this.value[s];
      s = (s + 1) & this.mask;
    }
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

const tables = new WeakMap<Vocab, PairTable>();

export function pairTableOf(vocab: Vocab): PairTable {
  let t = tables.get(vocab);
  if (!t) {
    t = new PairTable(vocab);
    tables.set(vocab, t);
  }
  return t;
}
