// SentencePiece unigram encoding (unigram_model.cc, Model::EncodeOptimized): Viterbi over
// the normalised text. Every mergeable piece starting at a position is a lattice edge scored
// by its log-probability (UNUSED pieces skipped; USER_DEFINED pieces score
// byteLength * maxScore - 0.1); a position with no single-character piece gets an <unk> edge
// of one character scoring minScore - 10. Ties keep the first path found (strict >);
// path scores are stored as float32 and compared as SentencePiece compares them.
// Positions are UTF-16 offsets on character boundaries.

import { PieceType } from "./proto/model-proto.js";
import type { Vocab } from "./vocab.js";

const UNK_PENALTY = 10;

export interface UnigramParams {
  readonly minScore: number;
  readonly maxScore: number;
  readonly maxPieceLength: number; // UTF-16 code units
  readonly trie: PieceTrie;
}

/** A trie over the UTF-16 code units of the mergeable pieces (the lattice's edges). */
export class PieceTrie {
  private readonly children: Array<Map<number, number> | undefined> = [undefined];
  // (nNodes) piece id ending at the node, -1 if none
  private ids: number[] = [-1];

  add(piece: string, id: number): void {
    let node = 0;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      let kids = this.children[node];
      if (!kids) this.children[node] = kids = new Map();
      let next = kids.get(c);
      if (next === undefined) {
        next = this.ids.length;
        kids.set(c, next);
        this.children.push(undefined);
        this.ids.push(-1);
      }
      node = next;
    }
    if (this.ids[node] < 0) this.ids[node] = id;
  }

  /** The child of `node` along code unit c, or -1. */
  step(node: number, c: number): number {
    return this.children[node]?.get(c) ?? -1;
  }

  idAt(node: number): number {
    return this.ids[node];
  }
}

export function unigramParams(vocab: Vocab): UnigramParams {
  let minScore = Infinity;
  let maxScore = -Infinity;
  let maxPieceLength = 1;
  const trie = new PieceTrie();
  for (const [piece, id] of vocab.mergeable) trie.add(piece, id);
  for (let id = 0; id < vocab.size; id++) {
    const t = vocab.types[id];
    if (t === PieceType.NORMAL) {
      minScore = Math.min(minScore, vocab.scores[id]);
      maxScore = Math.max(maxScore, vocab.scores[id]);
    }
    if (t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED) {
      maxPieceLength = Math.max(maxPieceLength, vocab.pieces[id].length);
    }
  }
  return { minScore, maxScore, maxPieceLength, trie };
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Returns [start, end, id] spans of the best segmentation (unk id for unknown characters). */
export function unigramSegment(vocab: Vocab, params: UnigramParams, normalized: string): Array<[number, number, number]> {
  const n = normalized.length;
  // (n + 1) per end position: best score, where its last piece starts (-1: unreached), its id.
  // Stored as float32, as SentencePiece stores them: ties and near-ties resolve alike.
  const bestScore = new Float32Array(n + 1);
  const startsAt = new Int32Array(n + 1).fill(-1);
  const bestId = new Int32Array(n + 1);
  const unkScore = Math.fround(params.minScore - UNK_PENALTY);
  const reached = new Uint8Array(n + 1);
  reached[0] = 1;
  for (let start = 0; start < n; ) {
    const c = normalized.charCodeAt(start);
    const charLen = c >= 0xd800 && c <= 0xdbff && start + 1 < n ? 2 : 1;
    if (!reached[start]) {
      start += charLen;
      continue;
    }
    const base = bestScore[start];
    let hasSingle = false;
    const trie = params.trie;
    for (let endPos = start, node = 0; endPos < n; ) {
      node = trie.step(node, normalized.charCodeAt(endPos++));
      if (node < 0) break;
      const id = trie.idAt(node);
      if (id < 0) continue; // (no piece ends mid surrogate pair: pieces are well-formed)
      const type = vocab.types[id];
      if (type === PieceType.UNUSED) continue;
      const len = endPos - start;
      // SentencePiece: the score expression is a double (length * max_score_ - 0.1 promotes
      // it), so the candidate is compared unrounded and only stored as float32.
      const score =
        type === PieceType.USER_DEFINED
          ? Math.fround(utf8Length(normalized.substring(start, endPos)) * params.maxScore) - 0.1
          : vocab.scores[id];
      const cand = base + score;
      if (startsAt[endPos] === -1 || cand > bestScore[endPos]) {
        bestScore[endPos] = cand;
        startsAt[endPos] = start;
        bestId[endPos] = id;
        reached[endPos] = 1;
      }
      if (len === charLen) hasSingle = true;
    }
    if (!hasSingle) {
      const endPos = start + charLen;
      const cand = Math.fround(base + unkScore); // float + float: a float32 sum
      if (startsAt[endPos] === -1 || cand > bestScore[endPos]) {
        bestScore[endPos] = cand;
        startsAt[endPos] = start;
        bestId[endPos] = vocab.unkId;
        reached[endPos] = 1;
      }
    }
    start += charLen;
  }
  const out: Array<[number, number, number]> = [];
  for (let end = n; end > 0; end = startsAt[end]) out.push([startsAt[end], end, bestId[end]]);
  return out.reverse();
}
