import { expect } from "chai";
import fc from "fast-check";
import { argmax, topK } from "@llamats/testkit";

/** n float32 values in [-scale, scale]. */
const f32Arr = (n: number, scale: number) => fc.array(fc.float({ min: -scale, max: scale, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

describe("testkit/select", () => {
  it("argmax: first index on ties, NaN never wins", () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).to.equal(1);
    expect(argmax(Float32Array.from([NaN, -1, NaN]))).to.equal(1);
    expect(argmax(Float32Array.from([-Infinity, -Infinity]))).to.equal(0);
    fc.assert(fc.property(f32Arr(17, 3).map((a) => a.map(Math.round)), (x) => {
      const m = Math.max(...x);
      expect(argmax(x)).to.equal(x.indexOf(m));
    }), { numRuns: 50 });
  });

  it("topK equals a full sort (descending, lower index first on ties, NaN skipped)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(f32Arr(n, 3).map((a) => a.map((v) => Math.round(v * 2))), fc.integer({ min: 0, max: 210 }))), ([x, k]) => {
      if (x.length > 2) x[1] = NaN;
      const order = Array.from(x.keys()).filter((i) => !Number.isNaN(x[i])).sort((a, b) => x[b] - x[a] || a - b).slice(0, k);
      const r = topK(x, k);
      expect(Array.from(r.indices)).to.deep.equal(order);
      expect(Array.from(r.values)).to.deep.equal(order.map((i) => x[i]));
    }), { numRuns: 80 });
  });
});
