// Quantised products against dequantise-then-float matmul. The Q8 path's error has a
// provable bound: each activation moves by at most half a step of its block, amax / 254
// (f16 / f32 rounding of the block scale adds a relative 2^-10), so
// |err| <= Σ_blocks Σ|w| * amax_block(x) / 254 * (1 + 2^-9) + float rounding.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, type WeightMatrix } from "@llamats/tensor";
import { randomUniform } from "@llamats/testkit";
import {
  dequantizeRows, quantizeRows, quantKernels, quantKernelsF32, quantizeRowQ8_0, dotQ4_0Q8_0, vecDotPlans, dequantizeRowQ8_0,
} from "@llamats/quant";
import { ggmlTestData, writableTypes } from "./helpers.js";

const allTypes: [string, GGMLType][] = [
  ...writableTypes.map((t) => [t.name, t.type] as [string, GGMLType]),
  ["f16", GGMLType.F16], ["bf16", GGMLType.BF16], ["f32", GGMLType.F32],
];

function reference(wf: Float32Array, x: Float32Array, rows: number, cols: number, nTokens: number): Float64Array {
  const out = new Float64Array(nTokens * rows);
  for (let t = 0; t < nTokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += wf[r * cols + j] * x[t * cols + j];
      out[t * rows + r] = s;
    }
  }
  return out;
}

/** The bound above, per output element; blockSize is the activation block (32 or 256). */
function q8Bound(wf: Float32Array, x: Float32Array, rows: number, cols: number, nTokens: number, blockSize: number): Float64Array {
  const out = new Float64Array(nTokens * rows);
  for (let t = 0; t < nTokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, abs = 0;
      for (let b = 0; b < cols; b += blockSize) {
        let amax = 0, wsum = 0;
        for (let j = b; j < b + blockSize; j++) {
          amax = Math.max(amax, Math.abs(x[t * cols + j]));
          wsum += Math.abs(wf[r * cols + j]);
          abs += Math.abs(wf[r * cols + j] * x[t * cols + j]);
        }
        s += (wsum * amax) / 254;
      }
      out[t * rows + r] = s * (1 + 2 ** -9) + abs * 2e-6 + 1e-30;
    }
  }
  return out;
}

describe("quant: matmul kernels", () => {
  const rows = 6, cols = 512, nTokens = 3;
  for (const [name, type] of allTypes) {
    it(`${name}: Q8-activation and f32-activation kernels vs dequantise-then-f32`, () => {
      const w0 = randomUniform(rows * cols, 11, -1, 1);
      const x = randomUniform(nTokens * cols, 12, -2, 2);
      const bytes = quantizeRows(type, w0, rows, cols);
      const w: WeightMatrix = { type, rows, cols, bytes };
      const wf = dequantizeRows(type, bytes, rows, cols);
      const ref = reference(wf, x, rows, cols, nTokens);
      const outF32 = new Float32Array(nTokens * rows);
      quantKernelsF32[type]!.matmul(outF32, w, x, nTokens);
      const outQ = new Float32Array(nTokens * rows);
      quantKernels[type]!.matmul(outQ, w, x, nTokens);
      const plan = vecDotPlans[type];
      const bound = plan ? q8Bound(wf, x, rows, cols, nTokens, plan.blockSize) : null;
      for (let i = 0; i < ref.length; i++) {
        expect(Math.abs(outF32[i] - ref[i]), `f32 path [${i}]`).to.be.at.most(1e-4 + Math.abs(ref[i]) * 1e-5);
        if (bound) expect(Math.abs(outQ[i] - ref[i]), `q8 path [${i}]`).to.be.at.most(bound[i]);
        else expect(outQ[i]).to.equal(outF32[i]);
      }
      // decodeRow gives the dequantised row.
      const row = new Float32Array(cols + 1);
      quantKernels[type]!.decodeRow(w, 4, row, 1);
      expect(Array.from(row.subarray(1))).to.deep.equal(Array.from(wf.subarray(4 * cols, 5 * cols)));
    });
  }

  for (const t of writableTypes) {
    it(`${t.name}: ggml's dot-product error on 0.1 + 2cos(i) below ${t.dotError}`, () => {
      const n = 32 * 128;
      const a = ggmlTestData(0, n), b = ggmlTestData(1, n);
      const w: WeightMatrix = { type: t.type, rows: 1, cols: n, bytes: quantizeRows(t.type, a, 1, n) };
      const out = new Float32Array(1);
      quantKernels[t.type]!.matmul(out, w, b, 1);
      let exact = 0;
      for (let i = 0; i < n; i++) exact += a[i] * b[i];
      expect(Math.abs(out[0] - exact) / n).to.be.below(t.dotError);
    });
  }

  it("dotQ4_0Q8_0 equals Σ dequant(w) · dequant(a) (integer sums, then scales)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 4 }), (seed, nBlocks) => {
      const cols = 32 * nBlocks;
      const wq = quantizeRows(GGMLType.Q4_0, randomUniform(cols, seed, -3, 3), 1, cols);
      const aq = new Uint8Array(34 * nBlocks);
      quantizeRowQ8_0(randomUniform(cols, seed + 1, -5, 5), 0, cols, aq, 0);
      const wf = dequantizeRows(GGMLType.Q4_0, wq, 1, cols);
      const af = new Float32Array(cols);
      dequantizeRowQ8_0(aq, 0, cols, af, 0);
      let want = 0, abs = 0;
      for (let i = 0; i < cols; i++) {
        want += wf[i] * af[i];
        abs += Math.abs(wf[i] * af[i]);
      }
      return Math.abs(dotQ4_0Q8_0(wq, 0, aq, 0, nBlocks) - want) <= abs * 1e-6 + 1e-30;
    }), { numRuns: 100 });
  });

  it("rejects mismatched buffers instead of reading out of bounds", () => {
    const w: WeightMatrix = { type: GGMLType.Q4_0, rows: 4, cols: 64, bytes: new Uint8Array(10) };
    expect(() => quantKernels[GGMLType.Q4_0]!.matmul(new Float32Array(4), w, new Float32Array(64), 1)).to.throw(RangeError);
  });
});

describe("quant: Q2_K / Q3_K products (llama.cpp-quantised bytes from the golden file)", () => {
  // llamats reads but does not write these types, so the weights are ggml's own output.
  const golden = JSON.parse(readFileSync(new URL("./golden/ggml-golden.json", import.meta.url), "utf8"));
  const c = golden.cases[0] as { rows: number; cols: number; types: Record<string, { quantB64: string }> };
  for (const [name, type] of [["q2_K", GGMLType.Q2_K], ["q3_K", GGMLType.Q3_K]] as const) {
    it(`${name}: Q8_K kernel within the Q8 bound of dequantise-then-f32`, () => {
      const bytes = new Uint8Array(Buffer.from(c.types[name].quantB64, "base64"));
      const w: WeightMatrix = { type, rows: c.rows, cols: c.cols, bytes };
      const x = randomUniform(2 * c.cols, 5, -1, 1);
      const wf = dequantizeRows(type, bytes, c.rows, c.cols);
      const ref = reference(wf, x, c.rows, c.cols, 2);
      const bound = q8Bound(wf, x, c.rows, c.cols, 2, 256);
      const out = new Float32Array(2 * c.rows);
      quantKernels[type]!.matmul(out, w, x, 2);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(out[i] - ref[i]), `[${i}]`).to.be.at.most(bound[i]);
    });
  }
});
