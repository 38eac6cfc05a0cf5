// Hand-built blocks to the byte, quantise∘dequantise error bounds (fast-check) and ggml's
// own total-error test on 0.1 + 2 cos(i).
import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, f16ToF32 } from "@llamats/tensor";
import {
  NonFiniteWeightError, dequantizeRow, dequantizeRows, quantizeRows, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
} from "@llamats/quant";
import { ggmlArrayRmse, ggmlTestData, writableTypes } from "./helpers.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("quant: hand-built blocks", () => {
  it("Q4_0: d = max / -8 with the sign of the largest element; nibble j pairs with j + 16", () => {
    // x[j] = j - 8 (−8..7) and x[j + 16] = 7 − j: max = −8, d = 1, id = 1, q = x + 8.
    const x = new Float32Array(32);
    for (let j = 0; j < 16; j++) {
      x[j] = j - 8;
      x[j + 16] = 7 - j;
    }
    const q = quantizeRows(GGMLType.Q4_0, x, 1, 32);
    const want = [0x00, 0x3c]; // f16 1.0
    for (let j = 0; j < 16; j++) want.push(j | ((15 - j) << 4));
    expect(hex(q)).to.equal(hex(new Uint8Array(want)));
    expect(Array.from(dequantizeRows(GGMLType.Q4_0, q, 1, 32))).to.deep.equal(Array.from(x));
  });

  it("Q4_0: a positive maximum gives a negative d and clamps the opposite extreme at 15", () => {
    const x = new Float32Array(32).fill(0);
    x[3] = 4; // d = -0.5, id = -2: 4 -> (int8)(-8 + 8.5) = 0; -4 -> (int8)(8 + 8.5) = 16 -> 15
    x[20] = -4;
    const q = quantizeRows(GGMLType.Q4_0, x, 1, 32);
    expect(q[0] | (q[1] << 8)).to.equal(0xb800); // f16 -0.5
    expect(q[Q4_0.qs + 3] & 0x0f).to.equal(0);
    expect(q[Q4_0.qs + 4] >> 4).to.equal(15);
    expect(q[Q4_0.qs + 0]).to.equal(0x88); // zeros -> (int8)(0 + 8.5) = 8 in both nibbles
  });

  it("Q4_0 / Q8_0: an all-zero block stores d = 0 and decodes to zeros, no NaN", () => {
    for (const type of [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]) {
      const cols = type >= GGMLType.Q2_K ? 256 : 32;
      const q = quantizeRows(type, new Float32Array(cols), 1, cols);
      const y = dequantizeRows(type, q, 1, cols);
      expect(y.every((v) => v === 0), `type ${type}`).to.equal(true);
    }
  });

  it("Q8_0: roundf rounds half away from zero", () => {
    const x = new Float32Array(32);
    x[0] = 127; // d = 1
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 0.5;
    x[4] = -0.5;
    x[5] = -127;
    const q = quantizeRows(GGMLType.Q8_0, x, 1, 32);
    expect(hex(q.subarray(0, 8))).to.equal("003c7f03fd01ff81");
  });

  it("Q4_1: d = (max - min) / 15, m = min, (int8)(x' + 0.5)", () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = 1 + (j % 16); // min 1, max 16 -> d = 1
    const q = quantizeRows(GGMLType.Q4_1, x, 1, 32);
    expect(hex(q.subarray(0, 4))).to.equal("003c003c"); // d = 1, m = 1
    for (let j = 0; j < 16; j++) expect(q[Q4_1.qs + j]).to.equal(j | (j << 4));
  });

  it("Q5_0: qh bit j holds bit 4 of q[j], bit j + 16 that of q[j + 16]", () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j - 16; // max -16 -> d = 1, q = x + 16 = j
    const q = quantizeRows(GGMLType.Q5_0, x, 1, 32);
    expect(hex(q.subarray(0, 2))).to.equal("003c");
    expect(hex(q.subarray(Q5_0.qh, Q5_0.qh + 4))).to.equal("0000ffff"); // q[16..31] >= 16
    for (let j = 0; j < 16; j++) expect(q[Q5_0.qs + j]).to.equal(j | (j << 4));
    expect(Array.from(dequantizeRows(GGMLType.Q5_0, q, 1, 32))).to.deep.equal(Array.from(x));
  });

  it("Q5_1: codes up to 31 without clamp", () => {
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j; // min 0, max 31 -> d = 1
    const q = quantizeRows(GGMLType.Q5_1, x, 1, 32);
    expect(hex(q.subarray(0, 8))).to.equal("003c00000000ffff");
    expect(Array.from(dequantizeRows(GGMLType.Q5_1, q, 1, 32))).to.deep.equal(Array.from(x));
    expect(Q5_1.bytes).to.equal(24);
  });

  it("Q8_0 block layout: 34 bytes, codes as int8", () => {
    const bytes = new Uint8Array(Q8_0.bytes);
    bytes[0] = 0x00;
    bytes[1] = 0x38; // d = 0.5
    bytes[2] = 0xff; // -1
    bytes[3] = 0x7f; // 127
    const out = new Float32Array(34);
    dequantizeRow(GGMLType.Q8_0, bytes, 0, 32, out, 2);
    expect([out[2], out[3], out[4]]).to.deep.equal([-0.5, 63.5, 0]);
  });

  it("refuses NaN and Inf with the tensor name and block index", () => {
    const x = new Float32Array(64);
    x[40] = NaN;
    expect(() => quantizeRows(GGMLType.Q4_0, x, 1, 64, undefined, "blk.0.attn_q.weight"))
      .to.throw(NonFiniteWeightError, /blk\.0\.attn_q\.weight.*block 1/);
    x[40] = Infinity;
    expect(() => quantizeRows(GGMLType.Q8_0, x, 2, 32)).to.throw(NonFiniteWeightError, /row 1, column 8 \(block 0\)/);
  });

  it("rejects a row length that is not a whole number of blocks", () => {
    expect(() => quantizeRows(GGMLType.Q4_0, new Float32Array(48), 1, 48)).to.throw(/multiple/);
    expect(() => quantizeRows(GGMLType.Q6_K, new Float32Array(128), 1, 128)).to.throw(/multiple/);
  });
});

describe("quant: quantise∘dequantise error", () => {
  // Per-element bounds that follow from each scheme (d rounded to f16 adds ≤ 2^-11 relative).
  const block = fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), { minLength: 32, maxLength: 32 });
  const legacyBound: [string, GGMLType, (amax: number, lo: number, hi: number) => number][] = [
    ["q4_0", GGMLType.Q4_0, (amax) => (amax / 8) * 1.002],
    ["q5_0", GGMLType.Q5_0, (amax) => (amax / 16) * 1.002],
    ["q8_0", GGMLType.Q8_0, (amax) => (amax / 254) * 1.002 + amax * 2 ** -11],
    ["q4_1", GGMLType.Q4_1, (_a, lo, hi) => ((hi - lo) / 30) * 1.002 + (Math.abs(lo) + (hi - lo)) * 2 ** -10],
    ["q5_1", GGMLType.Q5_1, (_a, lo, hi) => ((hi - lo) / 62) * 1.002 + (Math.abs(lo) + (hi - lo)) * 2 ** -10],
  ];
  for (const [name, type, bound] of legacyBound) {
    it(`${name}: every element within the scheme's step`, () => {
      fc.assert(fc.property(block, (vals) => {
        const x = Float32Array.from(vals);
        const y = dequantizeRows(type, quantizeRows(type, x, 1, 32), 1, 32);
        let amax = 0, lo = Infinity, hi = -Infinity;
        for (const v of x) { amax = Math.max(amax, Math.abs(v)); lo = Math.min(lo, v); hi = Math.max(hi, v); }
        // f16 scales underflow below 2^-24: an absolute term of (max code) * 2^-25 covers it.
        const b = bound(amax, lo, hi) + 128 * 2 ** -25;
        for (let i = 0; i < 32; i++) if (!(Math.abs(x[i] - y[i]) <= b)) return false;
        return true;
      }), { numRuns: 150 });
    });
  }

  for (const t of writableTypes) {
    it(`${t.name}: ggml's total error on 0.1 + 2cos(i) below ${t.totalError}`, () => {
      const x = ggmlTestData(0, 32 * 128);
      const y = dequantizeRows(t.type, quantizeRows(t.type, x, 1, x.length), 1, x.length);
      const err = ggmlArrayRmse(x, y);
      expect(err).to.be.below(t.totalError);
    });
  }

  it("K types: RMS error per element on random normal rows below their step", () => {
    const bounds: [GGMLType, number][] = [[GGMLType.Q4_K, 0.12], [GGMLType.Q5_K, 0.06], [GGMLType.Q6_K, 0.03]];
    fc.assert(fc.property(fc.integer({ min: 1, max: 1 << 30 }), (seed) => {
      let s = seed;
      const x = new Float32Array(512);
      for (let i = 0; i < 512; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        x[i] = (s / 2 ** 32 - 0.5) * 2; // uniform in [-1, 1)
      }
      for (const [type, rel] of bounds) {
        const y = dequantizeRows(type, quantizeRows(type, x, 2, 256), 2, 256);
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += (x[i] - y[i]) ** 2;
        if (!(Math.sqrt(sum / 512) < rel * 0.5)) return false;
      }
      return true;
    }), { numRuns: 20 });
  });

  it("F16 / BF16 / F32 round-trip through the same entry point", () => {
    const x = Float32Array.from([1, -2.5, 65504, 1e-8, 3.14159]);
    expect(Array.from(dequantizeRows(GGMLType.F32, quantizeRows(GGMLType.F32, x, 1, 5), 1, 5))).to.deep.equal(Array.from(x));
    const h = dequantizeRows(GGMLType.F16, quantizeRows(GGMLType.F16, x, 1, 5), 1, 5);
    expect(h[4]).to.equal(f16ToF32(0x4248));
    const b = dequantizeRows(GGMLType.BF16, quantizeRows(GGMLType.BF16, x, 1, 5), 1, 5);
    expect(b[1]).to.equal(-2.5);
  });
});
