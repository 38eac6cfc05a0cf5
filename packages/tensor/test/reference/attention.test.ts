import { expect } from "chai";
import fc from "fast-check";
import { ReferenceBackend } from "@llamats/tensor";
import { f32Arr } from "./helpers.js";

const be = new ReferenceBackend();

/** Naive f64 causal attention with GQA; returns outputs and probabilities. */
function naive(q: Float32Array, k: Float32Array, v: Float32Array, nTokens: number, pos0: number, nHeads: number, nKvHeads: number, headDim: number, scale: number) {
  const kvLen = pos0 + nTokens;
  const out = new Float64Array(nTokens * nHeads * headDim);
  const probs = new Float64Array(nTokens * nHeads * kvLen);
  const kvDim = nKvHeads * headDim;
  for (let t = 0; t < nTokens; t++)
    for (let h = 0; h < nHeads; h++) {
      const kh = Math.floor(h / (nHeads / nKvHeads));
      const s: number[] = [];
      for (let j = 0; j <= pos0 + t; j++) {
        let d = 0;
        for (let i = 0; i < headDim; i++) d += q[(t * nHeads + h) * headDim + i] * k[j * kvDim + kh * headDim + i];
        s.push(d * scale);
      }
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((x, j) => {
        probs[(t * nHeads + h) * kvLen + j] = x / z;
        for (let i = 0; i < headDim; i++) out[(t * nHeads + h) * headDim + i] += (x / z) * v[j * kvDim + kh * headDim + i];
      });
    }
  return { out, probs };
}

const arb = fc.record({
  nKvHeads: fc.integer({ min: 1, max: 3 }),
  group: fc.integer({ min: 1, max: 3 }),
  headDim: fc.integer({ min: 1, max: 9 }),
  nTokens: fc.integer({ min: 1, max: 5 }),
  pos0: fc.integer({ min: 0, max: 6 }),
}).chain((s) => {
  const nHeads = s.nKvHeads * s.group;
  const kvLen = s.pos0 + s.nTokens;
  return fc.record({
    s: fc.constant({ ...s, nHeads }),
    q: f32Arr(s.nTokens * nHeads * s.headDim, 3),
    k: f32Arr(kvLen * s.nKvHeads * s.headDim, 3),
    v: f32Arr(kvLen * s.nKvHeads * s.headDim, 3),
  });
});

describe("tensor/reference attention", () => {
  it("equals a naive f64 causal GQA attention, probabilities included", () => {
    fc.assert(fc.property(arb, ({ s, q, k, v }) => {
      const { nTokens, pos0, nHeads, nKvHeads, headDim } = s;
      const scale = 1 / Math.sqrt(headDim);
      const kvLen = pos0 + nTokens;
      const out = new Float32Array(nTokens * nHeads * headDim);
      const probs = new Float32Array(nTokens * nHeads * kvLen).fill(NaN);
      be.attention(out, q, k, v, { nTokens, pos0, nHeads, nKvHeads, headDim, scale }, probs);
      const ref = naive(q, k, v, nTokens, pos0, nHeads, nKvHeads, headDim, scale);
      for (let i = 0; i < out.length; i++) expect(out[i]).to.be.closeTo(ref.out[i], 1e-5 * (1 + Math.abs(ref.out[i])));
      for (let i = 0; i < probs.length; i++) expect(probs[i]).to.be.closeTo(ref.probs[i], 1e-6);
    }), { numRuns: 80 });
  });

  it("ignores cache rows past the causal limit", () => {
    const headDim = 2;
    const q = Float32Array.from([1, 0, 1, 0]); // 2 tokens, 1 head
    const k = Float32Array.from([1, 0, 1, 0, 1, 0]);
    const v = Float32Array.from([2, 0, 4, 0, 1e9, 1e9]); // row 2 is garbage beyond pos0 + nTokens
    const out = new Float32Array(4);
    be.attention(out, q, k, v, { nTokens: 2, pos0: 0, nHeads: 1, nKvHeads: 1, headDim, scale: 1 });
    expect(Array.from(out)).to.deep.equal([2, 0, 3, 0]);
  });
});
