import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, LlamatsError, ReferenceBackend, type WeightMatrix } from "@llamats/tensor";
import { f32Arr, makeWeight } from "./helpers.js";

const be = new ReferenceBackend();

// (rows, cols, nTokens) including 1 and odd sizes.
const shapeArb = fc.record({
  rows: fc.integer({ min: 1, max: 9 }),
  cols: fc.integer({ min: 1, max: 37 }),
  nTokens: fc.integer({ min: 1, max: 5 }),
});

function naiveMatmul(w: Float32Array, x: Float32Array, rows: number, cols: number, nTokens: number): Float64Array {
  const out = new Float64Array(nTokens * rows);
  for (let t = 0; t < nTokens; t++)
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[t * cols + c];
      out[t * rows + r] = s;
    }
  return out;
}

describe("tensor/reference matmul", () => {
  for (const [name, type] of [["F32", GGMLType.F32], ["F16", GGMLType.F16], ["BF16", GGMLType.BF16]] as const) {
    it(`${name} weights equal a naive triple loop (random shapes incl. 1 and odd)`, () => {
      fc.assert(
        fc.property(shapeArb.chain((s) => fc.tuple(fc.constant(s), f32Arr(s.rows * s.cols), f32Arr(s.nTokens * s.cols))),
          ([{ rows, cols, nTokens }, wv, x]) => {
            const { w, exact } = makeWeight(type, wv, rows, cols);
            const out = new Float32Array(nTokens * rows);
            be.matmul(out, w, x, nTokens);
            const ref = naiveMatmul(exact, x, rows, cols, nTokens);
            for (let i = 0; i < out.length; i++) {
              // f64 accumulation, one f32 rounding on store.
              expect(Math.abs(out[i] - ref[i])).to.be.at.most(Math.abs(ref[i]) * 2 ** -23 + 1e-12 * cols * 16);
            }
          }),
        { numRuns: 60 },
      );
    });
  }

  it("reads F32 weights at an unaligned byte offset", () => {
    const vals = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const buf = new Uint8Array(25);
    buf.set(new Uint8Array(vals.buffer), 1);
    const w: WeightMatrix = { type: GGMLType.F32, rows: 2, cols: 3, bytes: buf.subarray(1) };
    const out = new Float32Array(2);
    be.matmul(out, w, Float32Array.from([1, 1, 1]), 1);
    expect(Array.from(out)).to.deep.equal([6, 15]);
    const row = new Float32Array(3);
    be.decodeRow(w, 1, row, 0);
    expect(Array.from(row)).to.deep.equal([4, 5, 6]);
  });

  it("reads F16 weights at an odd byte offset (one token and a batch)", () => {
    const { w: aligned, exact } = makeWeight(GGMLType.F16, Float32Array.from([1, 2, 3, 4, 5, 6.5]), 2, 3);
    const buf = new Uint8Array(13);
    buf.set(aligned.bytes, 1);
    const w: WeightMatrix = { ...aligned, bytes: buf.subarray(1) };
    const one = new Float32Array(2);
    be.matmul(one, w, Float32Array.from([1, 1, 1]), 1);
    expect(Array.from(one)).to.deep.equal([exact[0] + exact[1] + exact[2], exact[3] + exact[4] + exact[5]]);
    const two = new Float32Array(4);
    be.matmul(two, w, Float32Array.from([1, 1, 1, 0, 0, 2]), 2);
    expect(Array.from(two)).to.deep.equal([6, 15.5, 6, 13]);
  });

  it("uses plugged kernels and rejects types it has no kernel for", () => {
    const w: WeightMatrix = { type: GGMLType.Q8_0, rows: 1, cols: 32, bytes: new Uint8Array(34) };
    expect(be.supports(GGMLType.Q8_0)).to.equal(false);
    expect(() => be.matmul(new Float32Array(1), w, new Float32Array(32), 1)).to.throw(LlamatsError, /q8_0/);
    const plugged = new ReferenceBackend({
      kernels: {
        [GGMLType.Q8_0]: {
          matmul: (out) => out.fill(7),
          decodeRow: (_w, _r, out, off) => out.fill(3, off, off + 32),
        },
      },
    });
    expect(plugged.supports(GGMLType.Q8_0)).to.equal(true);
    const out = new Float32Array(1);
    plugged.matmul(out, w, new Float32Array(32), 1);
    expect(out[0]).to.equal(7);
    const emb = new Float32Array(32);
    plugged.embedding(emb, w, [0]);
    expect(emb[31]).to.equal(3);
  });

  it("rejects a weight whose byte length is too short", () => {
    const w: WeightMatrix = { type: GGMLType.F16, rows: 2, cols: 3, bytes: new Uint8Array(10) };
    expect(() => be.matmul(new Float32Array(2), w, new Float32Array(3), 1)).to.throw(LlamatsError, /too few/);
  });
});

describe("tensor/reference embedding", () => {
  it("returns the decoded rows of the ids (every float type)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 2 }), fc.nat(), (rows, cols, ti, seed) => {
        const type = [GGMLType.F32, GGMLType.F16, GGMLType.BF16][ti];
        const vals = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 7.1 + seed));
        const { w, exact } = makeWeight(type, vals, rows, cols);
        const ids = [seed % rows, 0, rows - 1];
        const out = new Float32Array(ids.length * cols);
        be.embedding(out, w, ids);
        ids.forEach((id, i) => expect(Array.from(out.subarray(i * cols, (i + 1) * cols))).to.deep.equal(Array.from(exact.subarray(id * cols, (id + 1) * cols))));
      }),
      { numRuns: 40 },
    );
  });

  it("rejects an out-of-range id with a LlamatsError", () => {
    const { w } = makeWeight(GGMLType.F32, new Float32Array(6), 2, 3);
    expect(() => be.embedding(new Float32Array(3), w, [2])).to.throw(LlamatsError, /out of range/);
    expect(() => be.embedding(new Float32Array(3), w, [-1])).to.throw(LlamatsError);
  });
});
