// Causal multi-head attention over one layer's KV cache, with grouped-query heads:
// query head h reads KV head floor(h / (nHeads / nKvHeads)) (llama.cpp / HF repeat_kv).
// The query at position p attends to cache rows 0..p. Scores and sums are f64.
// A head range [h0, h1) computes only those query heads (each head's result is the same
// whatever the range), so threads can split the heads and match this bit for bit.
//
// The cache may be stored as f32, f16 or q8_0 (kv-types.ts) and is read in place, never
// decoded as a whole: f16 values go through the decode table inside the dot product and the
// value sum; a q8_0 row's head span (headDim values) is decoded into a small scratch just
// before use. Either way the result is bit for bit what an f32 cache holding the decoded
// values gives (the decode is exact, the sums run in the same order).

import type { AttentionParams } from "../backend.js";
import { f16DecodeTable } from "../f16.js";
import { decodeKVSpan, type KVRows } from "../kv-types.js";
import { dot } from "./matmul.js";
import { softmaxRow } from "./norm.js";

export class AttentionRef {
  private scores = new Float32Array(0); // (kvLen) scratch for one query row
  private acc = new Float64Array(0); // (headDim) output accumulator
  private span = new Float32Array(0); // (headDim) one decoded key / value span

  run(out: Float32Array, q: Float32Array, kCache: KVRows, vCache: KVRows,
    p: AttentionParams, probsOut?: Float32Array, h0 = 0, h1 = p.nHeads): void {
    const { nTokens, pos0, nHeads, nKvHeads, headDim, scale } = p;
    if (nHeads % nKvHeads !== 0) throw new RangeError(`attention: nHeads ${nHeads} not a multiple of nKvHeads ${nKvHeads}`);
    const group = nHeads / nKvHeads;
    const kvDim = nKvHeads * headDim;
    const kvLen = pos0 + nTokens; // (nTokens, nHeads, kvLen) for probsOut
    if (this.scores.length < kvLen) this.scores = new Float32Array(kvLen);
    if (this.acc.length < headDim) this.acc = new Float64Array(headDim);
    if (this.span.length < headDim) this.span = new Float32Array(headDim);
    const scores = this.scores;
    const acc = this.acc;
    const span = this.span;
    const kF32 = kCache instanceof Float32Array ? kCache : undefined;
    const vF32 = vCache instanceof Float32Array ? vCache : undefined;
    const kF16 = kCache instanceof Uint16Array ? kCache : undefined;
    const vF16 = vCache instanceof Uint16Array ? vCache : undefined;
    for (let t = 0; t < nTokens; t++) {
      const n = pos0 + t + 1; // causal: rows 0 .. pos0 + t
      for (let h = h0; h < h1; h++) {
        const qOff = (t * nHeads + h) * headDim;
        const kvOff = Math.floor(h / group) * headDim;
        if (kF32) {
          for (let j = 0, kOff = kvOff; j < n; j++, kOff += kvDim) scores[j] = dot(q, qOff, kF32, kOff, headDim) * scale;
        } else if (kF16) {
          for (let j = 0, kOff = kvOff; j < n; j++, kOff += kvDim) scores[j] = dotF16(q, qOff, kF16, kOff, headDim) * scale;
        } else {
          for (let j = 0; j < n; j++) {
            decodeKVSpan(kCache, kvDim, j, kvOff, headDim, span);
            scores[j] = dot(q, qOff, span, 0, headDim) * scale;
          }
        }
        softmaxRow(scores, 0, n);
        acc.fill(0, 0, headDim);
        if (vF32) {
          for (let j = 0, vOff = kvOff; j < n; j++, vOff += kvDim) {
            const pj = scores[j];
            if (pj === 0) continue; // underflowed weights add nothing
            for (let d = 0; d < headDim; d++) acc[d] += pj * vF32[vOff + d];
          }
        } else if (vF16) {
          for (let j = 0, vOff = kvOff; j < n; j++, vOff += kvDim) {
            const pj = scores[j];
            if (pj === 0) continue;
            for (let d = 0; d < headDim; d++) acc[d] += pj * f16Table[vF16[vOff + d]];
          }
        } else {
          for (let j = 0; j < n; j++) {
            const pj = scores[j];
            if (pj === 0) continue;
            decodeKVSpan(vCache, kvDim, j, kvOff, headDim, span);
            for (let d = 0; d < headDim; d++) acc[d] += pj * span[d];
          }
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

const f16Table = f16DecodeTable();

/** dot() (matmul.ts) with b stored as f16 bits: the same four partial sums in the same order. */
function dotF16(a: Float32Array, aOff: number, b: Uint16Array, bOff: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    s0 += a[aOff + c] * f16Table[b[bOff + c]];
    s1 += a[aOff + c + 1] * f16Table[b[bOff + c + 1]];
    s2 += a[aOff + c + 2] * f16Table[b[bOff + c + 2]];
    s3 += a[aOff + c + 3] * f16Table[b[bOff + c + 3]];
  }
  for (; c < n; c++) s0 += a[aOff + c] * f16Table[b[bOff + c]];
  return s0 + s1 + s2 + s3;
}
