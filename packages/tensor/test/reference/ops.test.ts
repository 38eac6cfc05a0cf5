import { expect } from "chai";
import fc from "fast-check";
import { ReferenceBackend } from "@llamats/tensor";
import { softmaxRow } from "../../src/reference/norm.js";
import { f32Arr, maxAbsDiff } from "./helpers.js";

const be = new ReferenceBackend();
const rowsArb = fc.record({ nRows: fc.integer({ min: 1, max: 4 }), dim: fc.integer({ min: 1, max: 33 }) });

describe("tensor/reference rmsNorm", () => {
  it("equals x / sqrt(mean(x²) + eps) * w", () => {
    fc.assert(fc.property(rowsArb.chain((s) => fc.tuple(fc.constant(s), f32Arr(s.nRows * s.dim), f32Arr(s.dim))), ([{ nRows, dim }, x, w]) => {
      const out = new Float32Array(nRows * dim);
      be.rmsNorm(out, x, w, dim, 1e-6);
      for (let r = 0; r < nRows; r++) {
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
        const inv = 1 / Math.sqrt(ss / dim + 1e-6);
        for (let i = 0; i < dim; i++) expect(out[r * dim + i]).to.be.closeTo(x[r * dim + i] * inv * w[i], 1e-5 * (1 + Math.abs(x[r * dim + i] * inv * w[i])));
      }
    }), { numRuns: 60 });
  });

  it("is scale invariant (eps 0) and gives unit RMS with unit weights", () => {
    fc.assert(fc.property(rowsArb.chain((s) => fc.tuple(fc.constant(s), f32Arr(s.nRows * s.dim), fc.double({ min: 0.01, max: 100, noNaN: true }))), ([{ nRows, dim }, x, c]) => {
      fc.pre(Array.from(x).some((v) => Math.abs(v) > 1e-3));
      const ones = new Float32Array(dim).fill(1);
      const a = new Float32Array(nRows * dim);
      const b = new Float32Array(nRows * dim);
      be.rmsNorm(a, x, ones, dim, 0);
      be.rmsNorm(b, x.map((v) => v * c), ones, dim, 0);
      for (let r = 0; r < nRows; r++) {
        const row = x.subarray(r * dim, (r + 1) * dim);
        if (!row.some((v) => Math.abs(v) > 1e-3)) continue;
        for (let i = r * dim; i < (r + 1) * dim; i++) expect(a[i]).to.be.closeTo(b[i], 1e-4 * (1 + Math.abs(a[i])));
        let ss = 0;
        for (let i = r * dim; i < (r + 1) * dim; i++) ss += a[i] ** 2;
        expect(Math.sqrt(ss / dim)).to.be.closeTo(1, 1e-5);
      }
    }), { numRuns: 60 });
  });
});

/** Per row of `cols` (attention's softmax is softmaxRow, one row at a time). */
function softmax(x: Float32Array, cols: number): void {
  for (let r = 0; r * cols < x.length; r++) softmaxRow(x, r * cols, cols);
}

describe("tensor/reference softmax", () => {
  const arb = rowsArb.chain((s) => fc.tuple(fc.constant(s), f32Arr(s.nRows * s.dim, 50)));
  it("rows sum to 1, entries in [0, 1], order preserved", () => {
    fc.assert(fc.property(arb, ([{ dim }, x]) => {
      const y = x.slice();
      softmax(y, dim);
      for (let r = 0; r < y.length / dim; r++) {
        let s = 0;
        for (let i = 0; i < dim; i++) {
          const v = y[r * dim + i];
          expect(v).to.be.within(0, 1);
          s += v;
          if (i > 0 && x[r * dim + i] > x[r * dim + i - 1]) expect(v).to.be.at.least(y[r * dim + i - 1]);
        }
        expect(s).to.be.closeTo(1, 1e-5);
      }
    }), { numRuns: 80 });
  });

  it("is shift invariant", () => {
    fc.assert(fc.property(arb, fc.integer({ min: -1000, max: 1000 }), ([{ dim }, x], c) => {
      const a = x.slice();
      const b = x.map((v) => v + c);
      softmax(a, dim);
      softmax(b, dim);
      // x + c is rounded to f32, so the shifted inputs differ by up to ulp(|c| + 50).
      expect(maxAbsDiff(a, b)).to.be.at.most(1e-4);
    }), { numRuns: 80 });
  });

  it("a fully masked row becomes zeros, masked entries get 0, huge values do not overflow", () => {
    const x = Float32Array.from([-Infinity, -Infinity, -Infinity, 1, -Infinity, 1, 3e38, 3e38, -3e38]);
    softmax(x, 3);
    expect(Array.from(x)).to.deep.equal([0, 0, 0, 0.5, 0, 0.5, 0.5, 0.5, 0]);
  });
});

describe("tensor/reference elementwise", () => {
  const arb = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(f32Arr(n, 30), f32Arr(n, 30)));
  it("add", () => {
    fc.assert(fc.property(arb, ([a, b]) => {
      const o = new Float32Array(a.length);
      be.add(o, a, b);
      a.forEach((v, i) => expect(o[i]).to.equal(Math.fround(v + b[i])));
    }), { numRuns: 50 });
  });

  it("swiglu = silu(gate)·up, finite for huge inputs", () => {
    fc.assert(fc.property(arb, ([g, u]) => {
      const o = new Float32Array(g.length);
      be.swiglu(o, g, u);
      g.forEach((v, i) => expect(o[i]).to.be.closeTo((v / (1 + Math.exp(-v))) * u[i], 1e-5 * (1 + Math.abs(v * u[i]))));
    }), { numRuns: 50 });
    const big = Float32Array.from([3e38, -3e38, 0]);
    const one = Float32Array.from([1, 1, 1]);
    const out = new Float32Array(3);
    be.swiglu(out, big, one);
    expect(Array.from(out)).to.deep.equal([3e38, -0, 0].map(Math.fround));
  });
});
