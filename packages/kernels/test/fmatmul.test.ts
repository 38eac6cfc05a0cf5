import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, encodeF16, f16ToF32, type WeightMatrix } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import { SharedArena, WasmMatmul } from "@llamats/kernels";

// F32 / F16 matmul against a float64 sum of the same (decoded) weights: the kernel sums in
// float32 in a different order, so the bound is 1e-5 of sum |w x|.
describe("kernels/float matmul vs float64", () => {
  const mm = new WasmMatmul(new SharedArena({ initialBytes: 1 << 20 }));
  for (const type of [GGMLType.F32, GGMLType.F16]) {
    it(`${type === GGMLType.F32 ? "f32" : "f16"}: random shapes incl. cols % 8 != 0 and extreme values`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 45 }), fc.integer({ min: 1, max: 9 }), fc.integer(), fc.boolean(),
          (rows, cols, nTok, seed, extreme) => {
            const wf = randomNormal(rows * cols, seed, extreme ? 5e3 : 1);
            if (extreme) for (let i = 0; i < wf.length; i += 3) wf[i] = wf[i]! * 1e-9; // f16 subnormals
            let bytes: Uint8Array;
            let wEff: Float64Array;
            if (type === GGMLType.F32) {
              bytes = new Uint8Array(wf.buffer);
              wEff = Float64Array.from(wf);
            } else {
              const h = encodeF16(wf);
              bytes = new Uint8Array(h.buffer);
              wEff = Float64Array.from(h, (b) => f16ToF32(b));
            }
            const w: WeightMatrix = { type, rows, cols, bytes };
            const x = randomNormal(nTok * cols, seed + 1);
            const out = new Float32Array(nTok * rows);
            mm.matmul(out, w, x, nTok);
            for (let t = 0; t < nTok; t++) {
              for (let r = 0; r < rows; r++) {
                let s = 0;
                let a = 0;
                for (let c = 0; c < cols; c++) {
                  const p = wEff[r * cols + c]! * x[t * cols + c]!;
                  s += p;
                  a += Math.abs(p);
                }
                const got = out[t * rows + r]!;
                if (!(Math.abs(got - s) <= 1e-5 * a + 1e-30)) expect.fail(`rows=${rows} cols=${cols} nTok=${nTok} [${t},${r}]: ${got} vs ${s}`);
              }
            }
          }),
        { numRuns: 40 },
      );
    });
  }

  it("f16: Inf, NaN, signed zero and subnormal weights decode exactly", () => {
    const bits = [0x7c00, 0xfc00, 0x7e00, 0x8000, 0x0000, 0x0001, 0x83ff, 0x3c00, 0xbc00, 0x7bff, 0x0400, 0x8001, 0x3555, 0x1234, 0x4000, 0xc000];
    // Row r holds bits[r] at one column (cycling over SIMD lanes and the scalar tail), zeros
    // elsewhere; x is one-hot on that column, so the product is exactly the decoded value.
    const rows = bits.length;
    const cols = 19;
    for (let j = 0; j < cols; j++) {
      const h = new Uint16Array(rows * cols);
      for (let r = 0; r < rows; r++) h[r * cols + j] = bits[r]!;
      const w: WeightMatrix = { type: GGMLType.F16, rows, cols, bytes: new Uint8Array(h.buffer) };
      const x = new Float32Array(cols);
      x[j] = 1;
      const out = new Float32Array(rows);
      mm.matmul(out, w, x, 1);
      for (let r = 0; r < rows; r++) {
        const want = f16ToF32(bits[r]!);
        if (Number.isNaN(want)) expect(out[r]).to.be.NaN;
        else expect(Math.abs(out[r]!)).to.equal(Math.abs(want)); // -0 + 0 sums to +0
      }
    }
  });
});
