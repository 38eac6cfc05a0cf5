// SentencePiece 0.1.97's BPE trainer (bpe_model_trainer.cc), reproduced step for step so
// that the learned pieces, their order and their scores are the same:
// - every word (whitespace-split, counted) starts as a sequence of character symbols; each
//   adjacent pair is a candidate symbol that remembers its positions (sentence, left, right);
// - every 100 pieces the "active" candidates are recomputed: the top 5% (at least 1000) by
//   frequency, chosen by std::partial_sort over the candidates in the order the trainer's
//   std::unordered_map holds them (std-hashtable.ts, std-heap.ts): this decides ties;
// - each step takes the active candidate with the highest frequency, then fewer characters,
//   then the smaller string; merges it at its positions (stale positions included, as the
//   original does), resets the frequencies of the neighbouring pairs and adds the new ones;
// - frequencies are cached and only recomputed when reset to 0, exactly as in the original,
//   so a cached frequency may be stale: that is part of the behaviour being reproduced.
// Piece scores are -(index); the required characters follow, most frequent first.

import { LlamatsError } from "@llamats/tensor";
import { StdUnorderedMap, type HashNode } from "./std-hashtable.js";
import { heapSelect } from "./std-heap.js";
import { fingerprintCat, type U64 } from "./u64.js";
import { isValidPiece, UNK_CHAR, type PieceRules } from "./piece-validity.js";
import { compareCodePoints, type CountedChars, type TrainedPiece } from "./common.js";

class Sym implements HashNode {
  hnext: HashNode | null = null;
  hbkt = 0;
  freq = 0;
  /** Positions as sid * 2^32 + left * 2^16 + right (std::set<uint64>: kept sorted on demand). */
  positions: number[] = [];
  sorted = true;
  /** Right neighbours whose concatenation with this symbol is not a valid piece. */
  invalidRight?: Set<Sym>;

  constructor(
    readonly id: number, // creation order: stands in for the pointer order of std::set<Symbol*>
    readonly fpHi: number,
    readonly fpLo: number,
    readonly left: Sym | null,
    readonly right: Sym | null,
    readonly chars: readonly number[],
    readonly isUnk: boolean,
  ) {}

  addPosition(key: number): void {
    const p = this.positions;
    if (p.length > 0 && key <= p[p.length - 1]) this.sorted = false;
    p.push(key);
  }

  /** The positions in std::set order (sorted, unique). */
  orderedPositions(): number[] {
    if (!this.sorted) {
      const p = this.positions.sort((a, b) => a - b);
      let w = 0;
      for (let i = 0; i < p.length; i++) if (i === 0 || p[i] !== p[i - 1]) p[w++] = p[i];
      p.length = w;
      this.sorted = true;
    }
    return this.positions;
  }
}

const TWO32 = 4294967296;
const MAX_SENTENCES = 2 ** 21; // sid * 2^32 must stay an exact double

export interface BpeInput {
  /** Words (code points) with their counts, in SentencePiece's order (count desc, then bytes asc). */
  readonly sentences: readonly CountedChars[];
  /** Required characters with their counts. */
  readonly requiredChars: ReadonlyMap<number, number>;
  /** vocab_size minus meta pieces. */
  readonly pieceBudget: number;
  readonly rules: PieceRules;
  readonly onProgress?: (done: number, total: number) => void;
}

export function trainBpe(input: BpeInput): TrainedPiece[] {
  const { sentences, requiredChars, rules } = input;
  if (sentences.length > MAX_SENTENCES) {
    throw new LlamatsError(`vocab-train: ${sentences.length} distinct words; the BPE trainer handles at most ${MAX_SENTENCES} (use --input-sentence-size)`);
  }
  const cache = new StdUnorderedMap<Sym>();
  let nextId = 0;
  const fp: U64 = { hi: 0, lo: 0 };

  const charSymbol = (c: number): Sym => {
    const found = cache.find(0, c);
    if (found) return found;
    const s = new Sym(nextId++, 0, c, null, null, [c], c === UNK_CHAR);
    s.freq = requiredChars.get(c) ?? 1;
    cache.insert(s);
    return s;
  };

  // Pairs that are not valid pieces are not cached by the original either; remembering the
  // verdict here (outside the map, per left symbol) only saves recomputing it.
  const pairSymbol = (left: Sym | null, right: Sym | null): Sym | null => {
    if (left === null || right === null || left.isUnk || right.isUnk) return null;
    if (left.invalidRight?.has(right)) return null;
    fingerprintCat(left.fpHi, left.fpLo, right.fpHi, right.fpLo, fp);
    const found = cache.find(fp.hi, fp.lo);
    if (found) return found;
    const chars = left.chars.concat(right.chars);
    if (!isValidPiece(chars, rules)) {
      (left.invalidRight ??= new Set()).add(right);
      return null;
    }
    const s = new Sym(nextId++, fp.hi, fp.lo, left, right, chars, false);
    cache.insert(s);
    return s;
  };

  const symbols: (Sym | null)[][] = [];
  const sentFreq: number[] = [];
  for (const s of sentences) {
    const row: (Sym | null)[] = new Array(s.chars.length);
    for (let i = 0; i < s.chars.length; i++) row[i] = charSymbol(s.chars[i]);
    if (row.length > 65536) throw new LlamatsError(`vocab-train: a word of ${row.length} characters (at most 65536)`);
    symbols.push(row);
    sentFreq.push(s.count);
  }

  let active = new Set<Sym>();
  const addNewPair = (sid: number, left: number, right: number): void => {
    if (left === -1 || right === -1) return;
    const row = symbols[sid];
    const s = pairSymbol(row[left], row[right]);
    if (s !== null) {
      active.add(s);
      s.addPosition(sid * TWO32 + left * 65536 + right);
    }
  };
  const resetFreq = (sid: number, left: number, right: number, best: Sym): void => {
    if (left === -1 || right === -1) return;
    const row = symbols[sid];
    const s = pairSymbol(row[left], row[right]);
    if (s !== null && s !== best) s.freq = 0;
  };
  const computeFreq = (s: Sym): void => {
    if (s.freq > 0) return;
    const p = s.orderedPositions();
    let w = 0;
    let prevSid = -1;
    let prevRight = 0;
    for (let i = 0; i < p.length; i++) {
      const key = p[i];
      const sid = Math.floor(key / TWO32);
      const lr = key - sid * TWO32;
      const left = lr >>> 16;
      const right = lr & 0xffff;
      const row = symbols[sid];
      if ((sid === prevSid && left === prevRight) || s.left !== row[left] || s.right !== row[right]) {
        prevSid = -1;
        prevRight = 0;
      } else {
        s.freq += sentFreq[sid];
        prevSid = sid;
        prevRight = right;
        p[w++] = key;
      }
    }
    p.length = w;
  };
  const updateActive = (): void => {
    const cands: Sym[] = [];
    for (const s of cache) {
      if (s.left !== null && s.right !== null) {
        computeFreq(s);
        cands.push(s);
      }
    }
    const topRatio = Math.trunc(Math.fround(Math.fround(cache.size) * Math.fround(0.05)));
    const size = Math.min(Math.max(1000, topRatio), cands.length);
    heapSelect(cands, size, (a, b) => a.freq > b.freq);
    active = new Set(cands.slice(0, size));
  };

  for (let sid = 0; sid < symbols.length; sid++) {
    for (let i = 1; i < symbols[sid].length; i++) addNewPair(sid, i - 1, i);
  }

  const budget = input.pieceBudget - requiredChars.size;
  if (budget < 0) throw new LlamatsError(`vocab-train: vocabulary size too small for the ${requiredChars.size} required characters`);
  const pieces: TrainedPiece[] = [];
  const dup = new Set<string>();
  while (pieces.length < budget) {
    if (pieces.length % 100 === 0) {
      updateActive();
      input.onProgress?.(pieces.length, budget);
    }
    let best: Sym | null = null;
    for (const s of active) {
      computeFreq(s);
      if (
        best === null ||
        s.freq > best.freq ||
        (s.freq === best.freq &&
          (s.chars.length < best.chars.length ||
            (s.chars.length === best.chars.length && (compareCodePoints(s.chars, best.chars) < 0 || (compareCodePoints(s.chars, best.chars) === 0 && s.id < best.id)))))
      ) {
        best = s;
      }
    }
    if (best === null) break; // "No valid symbol found"
    const str = String.fromCodePoint(...best.chars);
    if (dup.has(str)) {
      cache.erase(best.fpHi, best.fpLo);
      active.delete(best);
      continue;
    }
    dup.add(str);
    pieces.push({ piece: str, score: -pieces.length });

    for (const key of best.orderedPositions().slice()) {
      const sid = Math.floor(key / TWO32);
      const lr = key - sid * TWO32;
      const left = lr >>> 16;
      const right = lr & 0xffff;
      const row = symbols[sid];
      if (row[left] === null) continue;
      if (row[right] === null) throw new LlamatsError(`vocab-train: BPE trainer state broken at word ${sid} (right symbol missing)`);
      let next = -1;
      for (let i = right + 1; i < row.length; i++) if (row[i] !== null) { next = i; break; }
      let prev = -1;
      for (let i = left - 1; i >= 0; i--) if (row[i] !== null) { prev = i; break; }
      resetFreq(sid, prev, left, best);
      resetFreq(sid, right, next, best);
      row[left] = best;
      row[right] = null;
      addNewPair(sid, prev, left);
      addNewPair(sid, left, next);
    }
    cache.erase(best.fpHi, best.fpLo);
    active.delete(best);
  }
  input.onProgress?.(pieces.length, budget);

  for (const [c] of sortedByCount(requiredChars)) {
    pieces.push({ piece: String.fromCodePoint(c), score: -pieces.length });
  }
  return pieces;
}

/** trainer_interface.h Sorted(): count descending, then key ascending. */
export function sortedByCount(m: ReadonlyMap<number, number>): [number, number][] {
  return [...m].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}
