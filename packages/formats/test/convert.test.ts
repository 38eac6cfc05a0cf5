import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, encodeF16 } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import {
  convertTensorBytes, gguf, openModelSource, rowsCols, tensorBytes, toFloat32, writeGgufFromSource, writeGguf,
} from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("conv");
after(() => tmp.cleanup());

describe("tensor dtype conversion", () => {
  it("in row blocks gives the same bytes as the whole tensor at once (f16/bf16/f32 to every float and quantised type; property)", () => {
    const targets = [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q6_K];
    fc.assert(
      fc.property(fc.constantFrom(GGMLType.F16, GGMLType.BF16, GGMLType.F32), fc.constantFrom(...targets), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer(),
        (from, to, rows, chunkRows, seed) => {
          const cols = 256;
          const values = randomNormal(rows * cols, seed);
          const src = from === GGMLType.F32 ? new Uint8Array(values.buffer) : convertTensorBytes(new Uint8Array(values.buffer), GGMLType.F32, from, [rows, cols]);
          const whole = convertTensorBytes(src, from, to, [rows, cols], Infinity);
          const blocks = convertTensorBytes(src, from, to, [rows, cols], chunkRows * cols);
          expect(blocks.length).to.equal(tensorBytes(to, [rows, cols]));
          expect(Buffer.from(blocks).equals(Buffer.from(whole))).to.equal(true);
        }),
      { numRuns: 60 },
    );
  });

  it("f16 -> f32 -> f16 and bf16 -> f32 -> bf16 (every pattern) are the identity (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 64 }), (bits) => {
        const notNaN = bits; // every pattern: NaN payloads survive too
        const f16 = new Uint8Array(new Uint16Array(notNaN).buffer);
        const f32 = convertTensorBytes(f16, GGMLType.F16, GGMLType.F32, [notNaN.length]);
        expect(f32.length).to.equal(notNaN.length * 4);
        expect(Array.from(convertTensorBytes(f32, GGMLType.F32, GGMLType.F16, [notNaN.length]))).to.deep.equal(Array.from(f16));
        const bfBits = bits; // every pattern, NaN payloads included
        const bf = new Uint8Array(new Uint16Array(bfBits).buffer);
        const back = convertTensorBytes(convertTensorBytes(bf, GGMLType.BF16, GGMLType.F32, [bfBits.length]), GGMLType.F32, GGMLType.BF16, [bfBits.length]);
        expect(Array.from(back)).to.deep.equal(Array.from(bf));
      }),
      { numRuns: 100 },
    );
  });

  it("same type in and out returns the very same bytes", () => {
    const b = new Uint8Array(8);
    expect(convertTensorBytes(b, GGMLType.Q4_0, GGMLType.Q4_0, [1, 32])).to.equal(b);
    expect(rowsCols([2, 3, 4])).to.deep.equal([6, 4]);
    expect(tensorBytes(GGMLType.Q8_0, [3, 64])).to.equal(3 * 2 * 34);
    expect(() => tensorBytes(GGMLType.Q8_0, [3, 48])).to.throw(/block/);
  });

  it("writeGgufFromSource quantises to Q8_0 through @llamats/quant (error within half a step)", async () => {
    const rows = 4;
    const cols = 64;
    const w = randomNormal(rows * cols, 3);
    const src = tmp.path("f16.gguf");
    writeGguf(src, { kv: [gguf.str("general.architecture", "llama")], tensors: [
      { name: "blk.0.attn_q.weight", type: GGMLType.F16, shape: [rows, cols], data: new Uint8Array(encodeF16(w).buffer) },
      { name: "blk.0.attn_norm.weight", type: GGMLType.F32, shape: [cols], data: new Uint8Array(w.slice(0, cols).buffer) },
    ] });
    const s = await openModelSource(src);
    const out = tmp.path("q8.gguf");
    writeGgufFromSource(s, out, { typeFor: (t) => (t.shape.length === 2 ? GGMLType.Q8_0 : t.type) });
    s.close();
    const q = await openModelSource(out);
    try {
      expect(q.metadata["general.file_type"]).to.equal(7);
      expect(q.metadata["general.quantization_version"]).to.equal(2);
      const t = q.tensors.find((x) => x.name === "blk.0.attn_q.weight")!;
      expect(t.type).to.equal(GGMLType.Q8_0);
      expect(t.byteLength).to.equal(rows * 2 * 34);
      const back = toFloat32(q.read(t.name), t.type, t.shape);
      for (let r = 0; r < rows; r++) {
        for (let b = 0; b < 2; b++) {
          let amax = 0;
          for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[r * cols + b * 32 + j]));
          for (let j = 0; j < 32; j++) {
            const i = r * cols + b * 32 + j;
            expect(Math.abs(back[i] - w[i])).to.be.at.most(amax / 127 * 0.51 + 1e-3 * amax);
          }
        }
      }
    } finally {
      q.close();
    }
  });
});
