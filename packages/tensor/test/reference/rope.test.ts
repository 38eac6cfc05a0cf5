import { expect } from "chai";
import fc from "fast-check";
import { ReferenceBackend, ropeTables, type RopeParams } from "@llamats/tensor";
import { f32Arr } from "./helpers.js";

const be = new ReferenceBackend();

// (headDim even, rotDim even <= headDim, nHeads, base, freqScale)
const paramsArb = fc.record({
  halfHead: fc.integer({ min: 1, max: 8 }),
  rotFrac: fc.integer({ min: 1, max: 8 }),
  nHeads: fc.integer({ min: 1, max: 3 }),
  base: fc.constantFrom(10000, 500000, 22081.79, 100),
  freqScale: fc.constantFrom(1, 0.5, 0.25),
}).map(({ halfHead, rotFrac, nHeads, base, freqScale }) => ({
  headDim: 2 * halfHead,
  rotDim: 2 * Math.min(halfHead, rotFrac),
  nHeads,
  base,
  freqScale,
}));

function rope(x: Float32Array, nHeads: number, pos: number[], p: RopeParams): Float32Array {
  const y = x.slice();
  be.rope(y, nHeads, pos, p);
  return y;
}

/** Interleaved -> neox order of one head's first rotDim dims: (2i, 2i+1) -> (i, i + rotDim/2). */
function toNeox(x: Float32Array, nHeads: number, nTokens: number, headDim: number, rotDim: number): Float32Array {
  const y = x.slice();
  const half = rotDim / 2;
  for (let t = 0; t < nTokens; t++)
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        y[o + i] = x[o + 2 * i];
        y[o + i + half] = x[o + 2 * i + 1];
      }
    }
  return y;
}

const caseArb = paramsArb.chain((p) => fc.record({
  p: fc.constant(p),
  x: f32Arr(2 * p.nHeads * p.headDim),
  pos: fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 4096 })),
}));

describe("tensor/reference rope", () => {
  for (const layout of ["interleaved", "neox"] as const) {
    it(`${layout}: preserves every pair's norm and leaves dims past rotDim alone`, () => {
      fc.assert(fc.property(caseArb, ({ p, x, pos }) => {
        const rp: RopeParams = { ...p, layout };
        const y = rope(x, p.nHeads, pos, rp);
        const half = p.rotDim / 2;
        for (let t = 0; t < 2; t++)
          for (let h = 0; h < p.nHeads; h++) {
            const o = (t * p.nHeads + h) * p.headDim;
            for (let i = 0; i < half; i++) {
              const [a, b] = layout === "interleaved" ? [o + 2 * i, o + 2 * i + 1] : [o + i, o + i + half];
              const n0 = Math.hypot(x[a], x[b]);
              expect(Math.abs(Math.hypot(y[a], y[b]) - n0)).to.be.at.most(1e-5 * (1 + n0));
            }
            for (let d = p.rotDim; d < p.headDim; d++) expect(y[o + d]).to.equal(x[o + d]);
          }
      }), { numRuns: 80 });
    });

    it(`${layout}: rotating by p then by q equals rotating by p + q; position 0 is the identity`, () => {
      fc.assert(fc.property(caseArb, ({ p, x, pos: [a, b] }) => {
        const rp: RopeParams = { ...p, layout };
        const twice = rope(rope(x, p.nHeads, [a, a], rp), p.nHeads, [b, b], rp);
        const once = rope(x, p.nHeads, [a + b, a + b], rp);
        for (let i = 0; i < x.length; i++) expect(Math.abs(twice[i] - once[i])).to.be.at.most(2e-4 * (1 + Math.abs(once[i])));
        const zero = rope(x, p.nHeads, [0, 0], rp);
        expect(Array.from(zero, (v) => v + 0)).to.deep.equal(Array.from(x, (v) => v + 0)); // +0 == -0
      }), { numRuns: 80 });
    });
  }

  it("tables cached per position rotate bit for bit as tables built for the call (any order of positions, growing past the cache)", () => {
    fc.assert(fc.property(paramsArb, fc.constantFrom<RopeParams["layout"]>("interleaved", "neox"),
      fc.array(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.integer(),
      (pa, layout, calls, seed) => {
        const p: RopeParams = { headDim: pa.headDim, rotDim: pa.rotDim, base: pa.base, freqScale: pa.freqScale, layout };
        const half = pa.rotDim / 2;
        for (const positions of calls) {
          let s = seed >>> 0;
          const x = Float32Array.from({ length: positions.length * pa.nHeads * pa.headDim }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
          const want = x.slice();
          const { cos, sin } = ropeTables(positions, p); // fresh tables: the uncached definition
          for (let t = 0; t < positions.length; t++) {
            for (let h = 0; h < pa.nHeads; h++) {
              const b = (t * pa.nHeads + h) * pa.headDim;
              for (let i = 0; i < half; i++) {
                const i0 = layout === "interleaved" ? b + 2 * i : b + i;
                const i1 = layout === "interleaved" ? i0 + 1 : i0 + half;
                const a = want[i0]!, c = want[i1]!;
                want[i0] = a * cos[t * half + i]! - c * sin[t * half + i]!;
                want[i1] = a * sin[t * half + i]! + c * cos[t * half + i]!;
              }
            }
          }
          be.rope(x, pa.nHeads, positions, p);
          expect(Buffer.from(x.buffer).equals(Buffer.from(want.buffer))).to.equal(true);
        }
      }), { numRuns: 200 });
  });

  it("interleaved and neox agree after the pair permutation", () => {
    fc.assert(fc.property(caseArb, ({ p, x, pos }) => {
      const yi = rope(x, p.nHeads, pos, { ...p, layout: "interleaved" });
      const xn = toNeox(x, p.nHeads, 2, p.headDim, p.rotDim);
      const yn = rope(xn, p.nHeads, pos, { ...p, layout: "neox" });
      expect(Array.from(toNeox(yi, p.nHeads, 2, p.headDim, p.rotDim))).to.deep.equal(Array.from(yn));
    }), { numRuns: 80 });
  });

  it("freqScale s at position p equals position p·s (linear interpolation)", () => {
    fc.assert(fc.property(caseArb, ({ p, x }) => {
      const a = rope(x, p.nHeads, [8, 12], { ...p, freqScale: 0.25, layout: "interleaved" });
      const b = rope(x, p.nHeads, [2, 3], { ...p, freqScale: 1, layout: "interleaved" });
      for (let i = 0; i < x.length; i++) expect(a[i]).to.be.closeTo(b[i], 1e-5);
    }), { numRuns: 40 });
  });

  it("matches a hand-computed rotation", () => {
    // headDim 4, base 100: pair 0 rotates by pos, pair 1 by pos / 10.
    const x = Float32Array.from([1, 0, 1, 0]);
    be.rope(x, 1, [1], { headDim: 4, base: 100, layout: "interleaved" });
    expect(x[0]).to.be.closeTo(Math.cos(1), 1e-7);
    expect(x[1]).to.be.closeTo(Math.sin(1), 1e-7);
    expect(x[2]).to.be.closeTo(Math.cos(0.1), 1e-7);
    expect(x[3]).to.be.closeTo(Math.sin(0.1), 1e-7);
  });
});
