// Causal multi-head attention over one layer's KV cache, with grouped-query heads:
// query head h reads KV head floor(h / (nHeads / nKvHeads)) (llama.cpp / HF repeat_kv).
// The query at position p attends to cache rows 0..p. Scores and sums are f64.
// A head range [h0, h1) computes only those query heads (each head's result is the same
// whatever the range), so threads can split the heads and match this bit for bit.

import type { AttentionParams } from "../backend.js";
import { dot } from "./matmul.js";
import { softmaxRow } from "./norm.js";

export class AttentionRef {
  private scores = new Float32Array(0); // (kvLen) scratch for one query row
  private acc = new Float64Array(0); // (headDim) output accumulator

  run(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array,
    p: AttentionParams, probsOut?: Float32Array, h0 = 0, h1 = p.nHeads): void {
    const { nTokens, pos0, nHeads, nKvHeads, headDim, scale } = p;
    if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: nHeads ${nHeads} not a multiple of nKvHeads ${nKvHeads}`);
    const group = nHeads / nKvHeads;
    const kvDim = nKvHeads * headDim;
    const kvLen = pos0 + nTokens; // (nTokens, nHeads, kvLen) for probsOut
    if (this.scores.length < kvLen) this.scores = new Float32Array(kvLen);
    if (this.acc.length < headDim) this.acc = new Float64Array(headDim);
    const scores = this.scores;
    const acc = this.acc;
    for (let t = 0; t < nTokens; t++) {
      const n = pos0 + t + 1; // causal: rows 0 .. pos0 + t
      for (let h = h0; h < h1; h++) {
        const qOff = (t * nHeads + h) * headDim;
        const kvOff = Math.floor(h / group) * headDim;
        for (let j = 0, kOff = kvOff; j < n; j++, kOff += kvDim) scores[j] = dot(q, qOff, kCache, kOff, headDim) * scale;
        softmaxRow(scores, 0, n);
        acc.fill(0, 0, headDim);
        for (let j = 0, vOff = kvOff; j < n; j++, vOff += kvDim) {
          const pj = scores[j];
          if (pj === 0) continue; // underflowed weights add nothing
          for (let d = 0; d < headDim; d++) acc[d] += pj * vCache[vOff + d];
        }
        for (let d = 0; d < headDim; d++) out[qOff + d] = acc[d];
        if (probsOut) {
          const pOff = (t * nHeads + h) * kvLen;
          probsOut.set(scores.subarray(0, n), pOff);
          probsOut.fill(0, pOff + n, pOff + kvLen);
        }
      }
    }
  }
}
