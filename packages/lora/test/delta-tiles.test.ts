import { expect } from "chai";
import fc from "fast-check";
import { randomNormal } from "@llamats/testkit";
import { deltaRowsScalar, loraDeltaRows, loraDeltaRowsScalar, packA, ROWS_PER_TILE } from "@llamats/lora";

/** The definition: per element, per k in order, acc = fround(acc + b * a), from 0. */
function deltaPlain(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number): Float32Array {
  const d = new Float32Array((i1 - i0) * inDim);
  for (let i = i0; i < i1; i++) {
    for (let j = 0; j < inDim; j++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc = Math.fround(acc + b[i * r + k] * a[k * inDim + j]);
      d[(i - i0) * inDim + j] = acc;
    }
  }
  return d;
}

/** Float32 values of mixed magnitudes, with signed zeros, subnormals, huge values, NaN and Inf. */
function hostileValues(n: number, seed: number, specials: boolean): Float32Array {
  const x = randomNormal(n, seed);
  if (!specials) return x;
  const table = [0, -0, 1e-40, -1e-45, 3e38, -3e38, Infinity, -Infinity, NaN, 65504, 1e-8, 2 ** -126];
  for (let i = 0; i < n; i += 3) x[i] = table[(i + seed) % table.length >>> 0]!;
  return x;
}

const sameBits = (x: Float32Array, y: Float32Array): void => {
  expect(x.length).to.equal(y.length);
  const bx = new Uint32Array(x.buffer, x.byteOffset, x.length), by = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < x.length; i++) {
    if (bx[i] === by[i]) continue;
    // NaN payloads may differ between a JS number and a SIMD lane; both must be NaN
    if (Number.isNaN(x[i]) && Number.isNaN(y[i])) continue;
    expect(by[i], `element ${i}: ${x[i]} vs ${y[i]}`).to.equal(bx[i]);
  }
};

describe("delta_rows in register tiles (rank dimension in registers)", () => {
  it("packA puts the 4 columns of every k of a panel side by side", () => {
    const r = 3, inDim = 8, a = Float32Array.from({ length: r * inDim }, (_, i) => i);
    const out = new Float64Array(r * inDim);
    packA(a, r, inDim, out);
    // panel 0: k0 cols 0..3, k1 cols 0..3, k2 cols 0..3; panel 1: cols 4..7
    expect(Array.from(out)).to.deep.equal([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]);
  });

  it("the scalar twin, the WebAssembly SIMD kernel and the plain loop agree bit for bit (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 3 * ROWS_PER_TILE + 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1e9 }), fc.boolean(),
        (r, out, in4, seed, specials) => {
          const inDim = in4 * 4;
          const a = hostileValues(r * inDim, seed, specials), b = hostileValues(out * r, seed + 7, specials);
          const i0 = seed % out, i1 = out;
          const plain = deltaPlain(a, b, r, inDim, i0, i1);
          const twin = loraDeltaRowsScalar(a, b, r, inDim, i0, i1, new Float32Array((i1 - i0) * inDim));
          const wasm = loraDeltaRows({ a, b, r, scale: 1 }, inDim, i0, i1, new Float32Array((i1 - i0) * inDim), "wasm");
          const js = loraDeltaRows({ a, b, r, scale: 1 }, inDim, i0, i1, new Float32Array((i1 - i0) * inDim), "js");
          sameBits(plain, twin);
          sameBits(plain, wasm);
          sameBits(plain, js);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("adds to what d holds (d += B·A), tile rows and tail rows alike", () => {
    const r = 5, inDim = 12, n = ROWS_PER_TILE + 2;
    const a = randomNormal(r * inDim, 1), b = randomNormal(n * r, 2);
    const packed = new Float64Array(a.length);
    packA(a, r, inDim, packed);
    const start = randomNormal(n * inDim, 3);
    const d = deltaRowsScalar(packed, b, start.slice(), n, inDim, r);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < inDim; j++) {
        let acc = start[i * inDim + j]!;
        for (let k = 0; k < r; k++) acc = Math.fround(acc + b[i * r + k]! * a[k * inDim + j]!);
        expect(d[i * inDim + j]).to.equal(acc);
      }
    }
  });
});

describe("firstNonFiniteF16 (two halves per 32-bit word)", () => {
  it("finds the same first NaN/Inf as an element-by-element scan, at any offset and alignment (property)", async () => {
    const { firstNonFiniteF16 } = await import("@llamats/lora");
    const plain = (x: Uint16Array): number => x.findIndex((h) => (h & 0x7c00) === 0x7c00);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 3 }),
        (values, offset, specials) => {
          const buf = new Uint16Array(values.length + offset);
          // mostly finite values (so the special lands anywhere), plus Inf/NaN and near misses at random places
          buf.set(values.map((v) => v & 0xbfff), offset);
          for (const [k, at] of specials.entries()) if (at < values.length) buf[offset + at] = [0x7c00, 0xfe01, 0x7bff][k % 3]!;
          const view = buf.subarray(offset);
          expect(firstNonFiniteF16(view)).to.equal(plain(view));
        }),
      { numRuns: 2000 },
    );
    expect(firstNonFiniteF16(new Uint16Array([0x7bff, 0xfbff, 0x03ff, 0x8000]))).to.equal(-1);
    expect(firstNonFiniteF16(new Uint16Array([0, 0, 0, 0xfc00]))).to.equal(3);
  });
});
