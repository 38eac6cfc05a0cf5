import { expect } from "chai";
import fc from "fast-check";
import { Tensor, WasmRegion, contiguousStrides } from "@llamats/tensor";

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });

function iota(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromValues("f32", shape, Array.from({ length: n }, (_, i) => i));
}

/** Naive multi-index enumeration in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const idx = shape.map(() => 0);
  const n = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < n; k++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

describe("tensor/Tensor views", () => {
  it("row-major strides", () => {
    expect(contiguousStrides([2, 3, 4])).to.deep.equal([12, 4, 1]);
    expect(contiguousStrides([])).to.deep.equal([]);
  });

  it("transpose swaps indices without copying (property)", () => {
    fc.assert(
      fc.property(shapeArb.filter((s) => s.length >= 2), (shape) => {
        const t = iota(shape);
        const tt = t.transpose(0, shape.length - 1);
        expect(tt.storage).to.equal(t.storage);
        for (const idx of indices(tt.shape)) {
          const src = [...idx];
          [src[0], src[shape.length - 1]] = [src[shape.length - 1], src[0]];
          expect(tt.get(...idx)).to.equal(t.get(...src));
        }
        // transposing twice is the identity view
        expect(tt.transpose(0, shape.length - 1).toFloat32Array()).to.deep.equal(t.toFloat32Array());
      }),
      { numRuns: 100 },
    );
  });

  it("slice views the right elements and contiguous() copies them densely (property)", () => {
    fc.assert(
      fc.property(shapeArb, fc.nat(), fc.nat(), fc.nat(), (shape, dr, a, b) => {
        const t = iota(shape);
        const dim = dr % shape.length;
        const lo = a % (shape[dim] + 1);
        const hi = lo + (b % (shape[dim] - lo + 1));
        const s = t.slice(dim, lo, hi);
        for (const idx of indices(s.shape)) {
          const src = [...idx];
          src[dim] += lo;
          expect(s.get(...idx)).to.equal(t.get(...src));
        }
        const c = s.contiguous();
        expect(c.isContiguous()).to.equal(true);
        expect(Array.from(c.toFloat32Array())).to.deep.equal(Array.from(s.toFloat32Array()));
      }),
      { numRuns: 150 },
    );
  });

  it("reshape keeps row-major order, infers -1 and refuses non-contiguous views", () => {
    const t = iota([2, 3, 4]);
    const r = t.reshape([6, -1]);
    expect(r.shape).to.deep.equal([6, 4]);
    expect(r.get(5, 3)).to.equal(23);
    expect(() => t.transpose(0, 2).reshape([24])).to.throw(/non-contiguous/);
    expect(() => t.reshape([5, 5])).to.throw(RangeError);
    expect(t.transpose(0, 2).contiguous().reshape([24]).get(1)).to.equal(12);
  });

  it("stores f16 and bf16 with rounding, reads back float32", () => {
    const h = Tensor.fromValues("f16", [3], [1, 1 / 3, 65504]);
    expect(h.get(0)).to.equal(1);
    expect(h.get(1)).to.equal(0.333251953125);
    expect(h.get(2)).to.equal(65504);
    expect(h.raw()).to.be.instanceOf(Uint16Array);
    const b = Tensor.fromValues("bf16", [2], [1, 1 / 3]);
    expect(b.get(1)).to.equal(0.333984375);
  });

  it("lives in a SharedArrayBuffer or a WebAssembly.Memory region", () => {
    const s = Tensor.zeros("f32", [4, 4], { shared: true });
    expect(s.storage.buffer).to.be.instanceOf(SharedArrayBuffer);
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const t = Tensor.fromStorage("f32", [8], new WasmRegion(mem, 64, 32));
    t.set(7.5, 3);
    expect(new Float32Array(mem.buffer, 64, 8)[3]).to.equal(7.5);
    mem.grow(1); // the old ArrayBuffer detaches; the region follows the memory
    expect(t.get(3)).to.equal(7.5);
  });

  it("rejects out-of-range indices, slices and storage", () => {
    const t = iota([2, 2]);
    expect(() => t.get(2, 0)).to.throw(RangeError);
    expect(() => t.slice(1, 1, 3)).to.throw(RangeError);
    expect(() => Tensor.fromArray("f32", [3], new Float32Array(2))).to.throw(RangeError);
    expect(() => t.permute([0, 0])).to.throw(RangeError);
  });
});
