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

export class Lattice {
  // per node (node 0 = BOS, node 1 = EOS)
  pos: number[] = [];
  len: number[] = [];
  id: number[] = [];
  score: number[] = [];
  backtrace: number[] = [];
  prev: number[] = [];
  begin: number[][] = [];
  end: number[][] = [];
  size = 0;

  constructor(chars: readonly number[], trie: PieceTrie) {
    const n = chars.length;
    this.size = n;
    for (let i = 0; i <= n; i++) {
      this.begin.push([]);
      this.end.push([]);
    }
    this.add(0, 0, -1, 0);
    this.end[0].push(0);
    this.add(n, 0, -1, 0);
    this.begin[n].push(1);
    const unkScore = f(trie.minScore - UNK_PENALTY);
    const ids: number[] = [];
    const lens: number[] = [];
    for (let p = 0; p < n; p++) {
      trie.matches(chars, p, ids, lens);
      let single = false;
      for (let k = 0; k < ids.length; k++) {
        this.insert(p, lens[k], ids[k], trie.pieces[ids[k]].score);
        if (lens[k] === 1) single = true;
      }
      if (!single) this.insert(p, 1, 0, unkScore);
    }
  }

  private add(pos: number, len: number, id: number, score: number): number {
    this.pos.push(pos);
    this.len.push(len);
    this.id.push(id);
    this.score.push(score);
    this.backtrace.push(0);
    this.prev.push(-1);
    return this.pos.length - 1;
  }

  private insert(pos: number, len: number, id: number, score: number): void {
    const node = this.add(pos, len, id, score);
    this.begin[pos].push(node);
    this.end[pos + len].push(node);
  }

  /** Lattice::Viterbi: the best path's nodes (BOS and EOS excluded). */
  viterbi(): number[] {
    for (let p = 0; p <= this.size; p++) {
      for (const r of this.begin[p]) {
        let best = -1;
        let bestScore = 0;
        for (const l of this.end[p]) {
          const s = f(this.backtrace[l] + this.score[r]);
          if (best === -1 || s > bestScore) {
            best = l;
            bestScore = s;
          }
        }
        this.prev[r] = best;
        this.backtrace[r] = bestScore;
      }
    }
    const path: number[] = [];
    for (let node = this.prev[1]; this.prev[node] !== -1; node = this.prev[node]) path.push(node);
    return path.reverse();
  }

  /** Lattice::PopulateMarginal: adds freq * marginal of each piece node to expected[id]; returns Z. */
  populateMarginal(freq: number, expected: Float32Array): number {
    const nodes = this.pos.length;
    const alpha = new Float32Array(nodes);
    const beta = new Float32Array(nodes);
    for (let p = 0; p <= this.size; p++) {
      const ends = this.end[p];
      for (const r of this.begin[p]) {
        for (const l of ends) alpha[r] = logSumExp(alpha[r], f(this.score[l] + alpha[l]), l === ends[0]);
      }
    }
    for (let p = this.size; p >= 0; p--) {
      const begins = this.begin[p];
      for (const l of this.end[p]) {
        for (const r of begins) beta[l] = logSumExp(beta[l], f(this.score[r] + beta[r]), r === begins[0]);
      }
    }
    const z = alpha[1];
    for (let p = 0; p < this.size; p++) {
      for (const node of this.begin[p]) {
        const id = this.id[node];
        if (id >= 0) expected[id] += freq * Math.exp(f(f(f(alpha[node] + this.score[node]) + beta[node]) - z));
      }
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
      for (const l of this.end[this.pos[top.node]]) {
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
