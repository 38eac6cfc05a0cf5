// SentencePiece's unigram lattice (unigram_model.cc) as its trainer uses it: the nodes of a
// word are its pieces (shortest first at each position, as a trie's common-prefix search
// yields them) plus an unknown node (id 0, the trainer model's unk_id, score min - 10) where
// no one-character piece starts; Viterbi, forward-backward marginals and the 2-best A*
// search, with every score a float32 and every sum in the original's order and precision.

import { heapPop, heapPush } from "./std-heap.js";

const f = Math.fround;
const UNK_PENALTY = 10;

/** The current pieces as a trie over code points, and their scores. */
export class PieceTrie {
  private readonly root = new Map<number, TrieNode>();
  readonly minScore: number;

  constructor(readonly pieces: readonly { readonly chars: readonly number[]; readonly score: number }[]) {
    let min = 3.4028234663852886e38; // FLT_MAX
    pieces.forEach((p, id) => {
      let m = this.root;
      let node: TrieNode | undefined;
      for (const c of p.chars) {
        node = m.get(c);
        if (!node) {
          node = { id: -1, next: new Map() };
          m.set(c, node);
        }
        m = node.next;
      }
      node!.id = id;
      min = Math.min(min, p.score);
    });
    this.minScore = min;
  }

  /** Ids of the pieces that start at chars[pos], shortest first, with their lengths. */
  matches(chars: readonly number[], pos: number, ids: number[], lens: number[]): void {
    ids.length = 0;
    lens.length = 0;
    let m = this.root;
    for (let i = pos; i < chars.length; i++) {
      const node = m.get(chars[i]);
      if (!node) return;
      if (node.id >= 0) {
        ids.push(node.id);
        lens.push(i + 1 - pos);
      }
      m = node.next;
    }
  }
}

interface TrieNode {
  id: number;
  next: Map<number, TrieNode>;
}

// Scratch space for building a lattice (grown as needed, reused: lattices are built by the
// hundred thousand and the garbage would cost more than the work).
let scratchLen = new Int32Array(1024);
let scratchId = new Int32Array(1024);
let scratchScore = new Float32Array(1024);
const matchIds: number[] = [];
const matchLens: number[] = [];

/**
 * A word's lattice. Node 0 is BOS, node 1 EOS, then the nodes in insertion order (by start
 * position, shortest first, the unknown node last). The nodes starting (ending) at position
 * p are begin[beginStart[p] .. beginStart[p+1]) (end[endStart[p] .. endStart[p+1])), in
 * insertion order, as the original's per-position vectors hold them.
 */
export class Lattice {
  readonly size: number;
  readonly pos: Int32Array;
  readonly id: Int32Array;
  readonly score: Float32Array;
  readonly backtrace: Float32Array;
  readonly prev: Int32Array;
  readonly begin: Int32Array;
  readonly beginStart: Int32Array;
  readonly end: Int32Array;
  readonly endStart: Int32Array;

  constructor(chars: readonly number[], trie: PieceTrie) {
    const n = chars.length;
    this.size = n;
    const unkScore = f(trie.minScore - UNK_PENALTY);
    const beginStart = new Int32Array(n + 2);
    let count = 2;
    for (let p = 0; p < n; p++) {
      beginStart[p] = count - 2;
      trie.matches(chars, p, matchIds, matchLens);
      if (count + matchIds.length + 1 > scratchLen.length) {
        const grow = (count + matchIds.length + 1) * 2;
        const l = new Int32Array(grow), i = new Int32Array(grow), sc = new Float32Array(grow);
        l.set(scratchLen); i.set(scratchId); sc.set(scratchScore);
        scratchLen = l; scratchId = i; scratchScore = sc;
      }
      let single = false;
      for (let k = 0; k < matchIds.length; k++) {
        scratchLen[count] = matchLens[k];
        scratchId[count] = matchIds[k];
        scratchScore[count++] = trie.pieces[matchIds[k]].score;
        if (matchLens[k] === 1) single = true;
      }
      if (!single) {
        scratchLen[count] = 1;
        scratchId[count] = 0; // the trainer model's unk_id
        scratchScore[count++] = unkScore;
      }
    }
    beginStart[n] = count - 2;
    beginStart[n + 1] = count - 1;
    const pos = new Int32Array(count);
    const id = new Int32Array(count);
    const score = new Float32Array(count);
    const begin = new Int32Array(count - 1);
    id[0] = -1;
    id[1] = -1;
    pos[1] = n;
    for (let p = 0, node = 2; p < n; p++) {
      for (const e = beginStart[p + 1] + 2; node < e; node++) {
        pos[node] = p;
        id[node] = scratchId[node];
        score[node] = scratchScore[node];
        begin[node - 2] = node;
      }
    }
    begin[count - 2] = 1; // EOS begins at n
    const endStart = new Int32Array(n + 2);
    endStart[1] = 1; // BOS ends at 0
    for (let node = 2; node < count; node++) endStart[pos[node] + scratchLen[node] + 1]++;
    for (let p = 1; p <= n; p++) endStart[p + 1] += endStart[p];
    const fillAt = endStart.slice();
    const end = new Int32Array(count - 1);
    end[0] = 0;
    for (let node = 2; node < count; node++) end[fillAt[pos[node] + scratchLen[node]]++] = node;
    this.pos = pos;
    this.id = id;
    this.score = score;
    this.begin = begin;
    this.beginStart = beginStart;
    this.end = end;
    this.endStart = endStart;
    this.backtrace = new Float32Array(count);
    this.prev = new Int32Array(count).fill(-1);
  }

  /** Lattice::Viterbi: the best path's nodes (BOS and EOS excluded). */
  viterbi(): number[] {
    const { begin, beginStart, end, endStart, backtrace, score, prev } = this;
    for (let p = 0; p <= this.size; p++) {
      for (let bi = beginStart[p]; bi < beginStart[p + 1]; bi++) {
        const r = begin[bi];
        let best = -1;
        let bestScore = 0;
        for (let ei = endStart[p]; ei < endStart[p + 1]; ei++) {
          const l = end[ei];
          const s = f(backtrace[l] + score[r]);
          if (best === -1 || s > bestScore) {
            best = l;
            bestScore = s;
          }
        }
        prev[r] = best;
        backtrace[r] = bestScore;
      }
    }
    const path: number[] = [];
    for (let node = prev[1]; prev[node] !== -1; node = prev[node]) path.push(node);
    return path.reverse();
  }

  /** Lattice::PopulateMarginal: adds freq * marginal of each piece node to expected[id]; returns Z. */
  populateMarginal(freq: number, expected: Float32Array): number {
    const { begin, beginStart, end, endStart, score, id } = this;
    const nodes = this.pos.length;
    const alpha = new Float32Array(nodes);
    const beta = new Float32Array(nodes);
    for (let p = 0; p <= this.size; p++) {
      const e0 = endStart[p];
      const e1 = endStart[p + 1];
      for (let bi = beginStart[p]; bi < beginStart[p + 1]; bi++) {
        const r = begin[bi];
        for (let ei = e0; ei < e1; ei++) {
          const l = end[ei];
          alpha[r] = logSumExp(alpha[r], f(score[l] + alpha[l]), ei === e0);
        }
      }
    }
    for (let p = this.size; p >= 0; p--) {
      const b0 = beginStart[p];
      const b1 = beginStart[p + 1];
      for (let ei = endStart[p]; ei < endStart[p + 1]; ei++) {
        const l = end[ei];
        for (let bi = b0; bi < b1; bi++) {
          const r = begin[bi];
          beta[l] = logSumExp(beta[l], f(score[r] + beta[r]), bi === b0);
        }
      }
    }
    const z = alpha[1];
    for (let bi = 0; bi < beginStart[this.size]; bi++) {
      const node = begin[bi];
      const pid = id[node];
      if (pid >= 0) expected[pid] += freq * Math.exp(f(f(f(alpha[node] + score[node]) + beta[node]) - z));
    }
    return z;
  }

  /** Lattice::NBest(2, false): the best and second-best paths (A* from EOS), as node lists. */
  twoBest(): number[][] {
    this.viterbi();
    interface Hyp {
      node: number;
      next: Hyp | null;
      fx: number;
      gx: number;
    }
    const less = (a: Hyp, b: Hyp): boolean => a.fx < b.fx;
    const agenda: Hyp[] = [];
    heapPush(agenda, { node: 1, next: null, fx: this.backtrace[1], gx: 0 }, less);
    const results: number[][] = [];
    while (agenda.length > 0) {
      const top = heapPop(agenda, less);
      if (top.node === 0) {
        const path: number[] = [];
        for (let h = top.next!; h.next !== null; h = h.next) path.push(h.node);
        results.push(path);
        if (results.length === 2) break;
        continue;
      }
      const p = this.pos[top.node];
      for (let ei = this.endStart[p]; ei < this.endStart[p + 1]; ei++) {
        const l = this.end[ei];
        heapPush(agenda, { node: l, next: top, gx: f(this.score[l] + top.gx), fx: f(this.backtrace[l] + top.gx) }, less);
      }
      if (agenda.length >= 10000) shrinkAgenda(agenda, less);
    }
    return results;
  }
}

/** NBest's guard against huge agendas: keep the top min(512, 2 * 10) hypotheses. */
function shrinkAgenda<T>(agenda: T[], less: (a: T, b: T) => boolean): void {
  const kept: T[] = [];
  for (let i = 0; i < 20; i++) heapPush(kept, heapPop(agenda, less), less);
  agenda.length = 0;
  agenda.push(...kept);
}

/** log(exp(x) + exp(y)) as unigram_model.cc computes it (float in, double inside, float out). */
export function logSumExp(x: number, y: number, initMode: boolean): number {
  if (initMode) return y;
  const vmin = y < x ? y : x;
  const vmax = x < y ? y : x;
  if (vmax > f(vmin + 50)) return vmax;
  return f(vmax + Math.log(Math.exp(f(vmin - vmax)) + 1.0));
}
