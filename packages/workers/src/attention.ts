// Causal attention for a range of query heads: the same arithmetic, in the same order, as
// @llamats/tensor's AttentionRef (f64 scores and sums), so splitting heads between threads
// gives bit-identical results to the reference. Query head h reads KV head
// floor(h / (nHeads / nKvHeads)); the query at position p attends to cache rows 0..p.

export interface AttnArgs {
  readonly nTokens: number;
  readonly pos0: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly scale: number;
}

export class HeadAttention {
  private scores = new Float32Array(0); // (kvLen)
  private acc = new Float64Array(0); // (headDim)

  run(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, p: AttnArgs, h0: number, h1: number): void {
    const { nTokens, pos0, nHeads, nKvHeads, headDim, scale } = p;
    const group = nHeads / nKvHeads;
    const kvDim = nKvHeads * headDim;
    const kvLen = pos0 + nTokens;
    if (this.scores.length < kvLen) this.scores = new Float32Array(kvLen);
    if (this.acc.length < headDim) this.acc = new Float64Array(headDim);
    const scores = this.scores;
    const acc = this.acc;
    for (let t = 0; t < nTokens; t++) {
      const n = pos0 + t + 1;
      for (let h = h0; h < h1; h++) {
        const qOff = (t * nHeads + h) * headDim;
        const kvOff = Math.floor(h / group) * headDim;
        for (let j = 0; j < n; j++) {
          const kOff = j * kvDim + kvOff;
          let s = 0;
          for (let d = 0; d < headDim; d++) s += q[qOff + d]! * kCache[kOff + d]!;
          scores[j] = s * scale;
        }
        softmaxRow(scores, n);
        acc.fill(0, 0, headDim);
        for (let j = 0; j < n; j++) {
          const pj = scores[j]!;
          const vOff = j * kvDim + kvOff;
          for (let d = 0; d < headDim; d++) acc[d] += pj * vCache[vOff + d]!;
        }
        for (let d = 0; d < headDim; d++) out[qOff + d] = acc[d]!;
      }
    }
  }
}

/** Softmax of x[0 .. n) in place, as @llamats/tensor's softmaxRow (no finite entry -> zeros). */
function softmaxRow(x: Float32Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (v > max && v !== Infinity) max = v;
  }
  if (max === -Infinity) {
    x.fill(0, 0, n);
    return;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const e = v === Infinity || Number.isNaN(v) ? 0 : Math.exp(v - max);
    x[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[i]! *= inv;
}
