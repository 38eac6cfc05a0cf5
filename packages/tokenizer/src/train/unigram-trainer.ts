// SentencePiece 0.1.97's unigram trainer (unigram_model_trainer.cc), in its order and
// float32 precision:
// - seeds: every character (by count) and then the substrings that occur at least twice
//   (suffix-array nodes, esaxx order, valid pieces only), by occurrences x length, at most
//   seed_sentencepiece_size in all; scores are log frequencies;
// - EM on the whitespace-split words: the E-step sums marginals over each word's lattice
//   the way the original's 16 threads do (word i goes to thread i mod 16, each thread sums in
//   float32, the threads' sums are added in thread order); the M-step drops pieces expected
//   less than 0.5 times and rescores with the digamma (Bayesian) update;
// - pruning keeps the pieces whose removal costs the most likelihood (alternatives from the
//   2-best segmentation of each piece), shrinking by 0.75 until vocab_size * 1.1 remain;
// - the final vocabulary is the required characters plus the best-scoring pieces.
// The original's quirks are kept: unknown nodes count for piece 0, and the pruning loss uses
// the number of pieces where it means the number of alternatives.

import { LlamatsError } from "@llamats/tensor";
import { sortedByCount } from "./bpe-trainer.js";
import { compareCodePoints, type CountedChars, type TrainedPiece } from "./common.js";
import { Lattice, PieceTrie } from "./lattice.js";
import { isValidPiece, UNK_CHAR, type PieceRules } from "./piece-validity.js";
import { substringNodes } from "./suffix-array.js";

const f = Math.fround;
const THREADS = 16; // trainer_spec.num_threads as spm_train sets it: the summation order
const SEED_SIZE = 1000000;
const SHRINKING_FACTOR = f(0.75);
const SUB_ITERATIONS = 2;

interface Piece {
  readonly chars: readonly number[];
  readonly score: number;
}

export interface UnigramInput {
  /** Whole normalised sentences, rare characters already ▅ (for the seeds). */
  readonly sentences: readonly (readonly number[])[];
  /** Words with counts in SentencePiece's order (for EM). */
  readonly words: readonly CountedChars[];
  readonly requiredChars: ReadonlyMap<number, number>;
  readonly vocabSize: number;
  readonly metaCount: number;
  readonly rules: PieceRules;
  readonly onProgress?: (done: number, total: number) => void;
}

function compareScoreThenChars(a: Piece, b: Piece): number {
  return b.score - a.score || compareCodePoints(a.chars, b.chars);
}

/** MakeSeedSentencePieces */
export function seedPieces(sentences: readonly (readonly number[])[], rules: PieceRules): Piece[] {
  let n = 0;
  for (const s of sentences) n += s.length + 1;
  const text = new Int32Array(n);
  const charCounts = new Map<number, number>();
  let o = 0;
  for (const s of sentences) {
    for (const c of s) {
      text[o++] = c;
      if (c !== UNK_CHAR && c !== 0) charCounts.set(c, (charCounts.get(c) ?? 0) + 1);
    }
    text[o++] = 0; // sentence boundary
  }
  const nodes = substringNodes(text);
  // candidates as (node, score) in typed arrays: a big corpus has millions of nodes
  const candNode = new Int32Array(nodes.count);
  const candScore = new Float64Array(nodes.count);
  let nc = 0;
  for (let i = 0; i < nodes.count; i++) {
    const len = nodes.depth[i];
    if (len <= 1 || len > rules.maxSentencepieceLength) continue; // too long: IsValidSentencePiece says no
    const offset = nodes.sa[nodes.left[i]];
    let boundary = false;
    for (let k = offset; k < offset + len; k++) if (text[k] === 0) { boundary = true; break; }
    if (boundary) continue;
    if (!isValidPiece(Array.from(text.subarray(offset, offset + len)), rules)) continue;
    candNode[nc] = i;
    candScore[nc++] = (nodes.right[i] - nodes.left[i]) * len;
  }
  const seeds: { chars: number[]; score: number }[] = sortedByCount(charCounts).map(([c, k]) => ({ chars: [c], score: f(k) }));
  const order = new Int32Array(nc);
  for (let i = 0; i < nc; i++) order[i] = i;
  order.sort((a, b) => candScore[b] - candScore[a] || candNode[a] - candNode[b]);
  for (let r = 0; r < nc; r++) {
    if (seeds.length === SEED_SIZE) break;
    const node = candNode[order[r]];
    const offset = nodes.sa[nodes.left[node]];
    seeds.push({ chars: Array.from(text.subarray(offset, offset + nodes.depth[node])), score: f(candScore[order[r]]) });
  }
  // ToLogProb
  let sum = 0;
  for (const s of seeds) sum = f(sum + s.score);
  const logsum = f(Math.log(sum));
  return seeds.map((s) => ({ chars: s.chars, score: f(Math.log(s.score) - logsum) }));
}

function digamma(x: number): number {
  let result = 0;
  for (; x < 7; ++x) result -= 1 / x;
  x -= 1.0 / 2.0;
  const xx = 1.0 / x;
  const xx2 = xx * xx;
  const xx4 = xx2 * xx2;
  result += Math.log(x) + (1.0 / 24.0) * xx2 - (7.0 / 960.0) * xx4 + (31.0 / 8064.0) * xx4 * xx2 - (127.0 / 30720.0) * xx4 * xx4;
  return result;
}

function lattices(words: readonly CountedChars[], trie: PieceTrie, each: (l: Lattice, i: number) => void): void {
  // thread n takes words n, n + 16, ...; threads are visited in order
  for (let t = 0; t < THREADS; t++) for (let i = t; i < words.length; i += THREADS) each(new Lattice(words[i].chars, trie), i);
}

function eStep(words: readonly CountedChars[], trie: PieceTrie): Float32Array {
  const size = trie.pieces.length;
  const total = new Float32Array(size);
  const part = new Float32Array(size);
  for (let t = 0; t < THREADS; t++) {
    const acc = t === 0 ? total : part;
    if (t > 0) part.fill(0);
    for (let i = t; i < words.length; i += THREADS) {
      new Lattice(words[i].chars, trie).populateMarginal(f(words[i].count), acc);
    }
    if (t > 0) for (let k = 0; k < size; k++) total[k] += part[k];
  }
  return total;
}

function mStep(pieces: readonly Piece[], expected: Float32Array): Piece[] {
  const kept: { chars: readonly number[]; freq: number }[] = [];
  let sum = 0;
  for (let i = 0; i < pieces.length; i++) {
    const freq = expected[i];
    if (freq < 0.5) continue;
    kept.push({ chars: pieces[i].chars, freq });
    sum = f(sum + freq);
  }
  const logsum = f(digamma(sum));
  return kept.map((k) => ({ chars: k.chars, score: f(digamma(k.freq) - logsum) }));
}

function prune(pieces: readonly Piece[], trie: PieceTrie, words: readonly CountedChars[], desired: number): Piece[] {
  const n = pieces.length;
  const alwaysKeep = new Array<boolean>(n).fill(true);
  const alternatives: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    const lat = new Lattice(pieces[i].chars, trie);
    const nbests = lat.twoBest();
    if (nbests.length === 1) alwaysKeep[i] = true;
    else if (nbests[0].length >= 2) alwaysKeep[i] = false;
    else if (nbests[0].length === 1) {
      alwaysKeep[i] = true;
      for (const node of nbests[1]) alternatives[i].push(lat.id[node]);
    }
  }

  // Viterbi counts over all words, summed per thread as the original does
  const freq = new Float32Array(n);
  const part = new Float32Array(n);
  const inverted: number[][] = Array.from({ length: n }, () => []);
  let vsum = 0;
  for (let t = 0; t < THREADS; t++) {
    part.fill(0);
    let vs = 0;
    for (let i = t; i < words.length; i += THREADS) {
      const lat = new Lattice(words[i].chars, trie);
      vs = f(vs + words[i].count);
      for (const node of lat.viterbi()) {
        const id = lat.id[node];
        if (id >= 0) {
          part[id] += words[i].count;
          inverted[id].push(i);
        }
      }
    }
    vsum = f(vsum + vs);
    for (let k = 0; k < n; k++) freq[k] += part[k];
  }
  let sumD = 0;
  for (let k = 0; k < n; k++) sumD += freq[k];
  const sum = f(sumD);
  const logsum = f(Math.log(sum));
  const candidates: { index: number; loss: number }[] = [];
  const kept: Piece[] = [];
  for (let i = 0; i < n; i++) {
    if (freq[i] === 0 || !alwaysKeep[i]) continue;
    if (alternatives[i].length === 0) {
      kept.push(pieces[i]);
      continue;
    }
    let F = 0;
    for (const s of inverted[i]) F = f(F + f(words[s].count));
    F = f(F / vsum);
    const logprobSp = f(Math.log(freq[i]) - logsum);
    // (sic) the number of pieces, where the number of alternatives was meant
    const logsumAlt = f(Math.log(f(sum + f(freq[i] * f(n - 1)))));
    let logprobAlt = 0;
    for (const a of alternatives[i]) logprobAlt = f(logprobAlt + (Math.log(f(freq[a] + freq[i])) - logsumAlt));
    candidates.push({ index: i, loss: f(F * f(logprobSp - logprobAlt)) });
  }
  const prunedSize = Math.max(desired, Math.trunc(f(SHRINKING_FACTOR * f(n))));
  candidates.sort((a, b) => b.loss - a.loss || a.index - b.index);
  for (const c of candidates) {
    if (kept.length === prunedSize) break;
    kept.push(pieces[c.index]);
  }
  return kept;
}

function finalize(pieces: readonly Piece[], minScore: number, required: ReadonlyMap<number, number>, budget: number): TrainedPiece[] {
  const byPiece = new Map<string, number>();
  for (const p of pieces) byPiece.set(String.fromCodePoint(...p.chars), p.score);
  const final = new Map<string, number>();
  let penalty = 0;
  for (const [c] of sortedByCount(required)) {
    const s = String.fromCodePoint(c);
    const score = byPiece.get(s);
    if (score !== undefined) final.set(s, score);
    else {
      final.set(s, f(minScore + penalty));
      penalty = f(penalty + f(0.0001));
    }
  }
  if (budget <= 0) throw new LlamatsError("vocab-train: the vocabulary size leaves no room besides the meta pieces");
  for (const p of [...pieces].sort(compareScoreThenChars)) {
    const s = String.fromCodePoint(...p.chars);
    if (final.has(s)) continue;
    if (final.size === budget) break;
    final.set(s, p.score);
  }
  return [...final]
    .map(([piece, score]) => ({ piece, score, chars: Array.from(piece, (ch) => ch.codePointAt(0)!) }))
    .sort((a, b) => b.score - a.score || compareCodePoints(a.chars, b.chars))
    .map(({ piece, score }) => ({ piece, score }));
}

export function trainUnigram(input: UnigramInput): TrainedPiece[] {
  let pieces = seedPieces(input.sentences, input.rules);
  let trie = new PieceTrie(pieces);
  const desired = Math.trunc(input.vocabSize * 1.1);
  const startSize = pieces.length;
  for (;;) {
    for (let iter = 0; iter < SUB_ITERATIONS; iter++) {
      const expected = eStep(input.words, trie);
      pieces = mStep(pieces, expected);
      if (pieces.length === 0) throw new LlamatsError("vocab-train: no piece survived an EM step (corpus too small?)");
      trie = new PieceTrie(pieces);
    }
    // progress: how far the vocabulary has shrunk toward its target
    input.onProgress?.(Math.max(0, startSize - pieces.length), Math.max(1, startSize - desired));
    if (pieces.length <= desired) break;
    pieces = prune(pieces, trie, input.words, desired);
    trie = new PieceTrie(pieces);
  }
  input.onProgress?.(Math.max(1, startSize - desired), Math.max(1, startSize - desired));
  return finalize(pieces, trie.minScore, input.requiredChars, input.vocabSize - input.metaCount);
}
