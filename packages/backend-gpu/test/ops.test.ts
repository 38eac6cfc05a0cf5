// Every GPU op against the ReferenceBackend, with stated bounds, in each gpu.js mode this
// machine has: "cpu" always (gpu.js's JavaScript mode runs the same kernel sources), and
// "webgpu" (Dawn; on machines without a GPU, its OpenGL ES backend on Mesa llvmpipe). The
// WebGPU path skips with one line where Dawn finds no adapter, except under CI=true, where
// .ci/run installs the Mesa packages and it must run.
import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, ReferenceBackend, type RopeParams, type WeightMatrix, ggmlRowBytes } from "@llamats/tensor";
import { dequantizeRows, quantizeRows } from "@llamats/quant";
import { encodeF16 } from "@llamats/tensor";
import { isCI, randomNormal } from "@llamats/testkit";
import { GpuOps, GpuRuntime, packRows, rowChunks } from "../src/index.js";
import { gpuModes, maxRelErr } from "./helpers.js";

const ref = new ReferenceBackend();

function weight(type: GGMLType, rows: number, cols: number, seed: number): { w: WeightMatrix; dense: Float32Array } {
  const values = randomNormal(rows * cols, seed, 0.5);
  if (type === GGMLType.F32) return { w: { type, rows, cols, bytes: new Uint8Array(values.buffer) }, dense: values };
  if (type === GGMLType.F16) {
    const h = encodeF16(values);
    return { w: { type, rows, cols, bytes: new Uint8Array(h.buffer) }, dense: dequantizeF16(h) };
  }
  const bytes = quantizeRows(type, values, rows, cols);
  return { w: { type, rows, cols, bytes }, dense: dequantizeRows(type, bytes, rows, cols) };
}

function dequantizeF16(h: Uint16Array): Float32Array {
  const w: WeightMatrix = { type: GGMLType.F16, rows: 1, cols: h.length, bytes: new Uint8Array(h.buffer) };
  const out = new Float32Array(h.length);
  ref.decodeRow(w, 0, out, 0);
  return out;
}

const f32 = (rows: number, cols: number, dense: Float32Array): WeightMatrix => ({ type: GGMLType.F32, rows, cols, bytes: new Uint8Array(dense.buffer.slice(0)) });

for (const mode of gpuModes()) {
  describe(`backend-gpu ops (${mode})`, function () {
    let rt: GpuRuntime | undefined;
    let gpu: GpuOps;
    const runs = mode === "cpu" ? 12 : 5; // each new shape compiles a shader

    before(async function () {
      try {
        // A small binding cap forces large matrices into several chunks.
        rt = await GpuRuntime.create({ mode, maxBindingBytes: 64 * 1024 });
      } catch (err) {
        if (mode === "webgpu" && !isCI()) {
          this.test!.parent!.title += ` — skipped: ${(err as Error).message}`;
          this.skip();
        }
        throw err;
      }
      gpu = new GpuOps(rt);
    });
    after(async () => rt?.destroy());

    for (const [name, type] of [["f32", GGMLType.F32], ["f16", GGMLType.F16], ["q8_0", GGMLType.Q8_0], ["q4_0", GGMLType.Q4_0]] as const) {
      it(`matmul ${name}: within 2e-5 relative of the dequantised f32 reference (random shapes)`, async () => {
        await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer(),
          async (rows, nBlocks, nTokens, seed) => {
            const cols = nBlocks * 32;
            const { w, dense } = weight(type, rows, cols, seed);
            const x = randomNormal(nTokens * cols, seed + 1);
            const want = new Float32Array(nTokens * rows);
            ref.matmul(want, f32(rows, cols, dense), x, nTokens);
            const got = await gpu.matmul(w, x, nTokens);
            expect(maxRelErr(got, want)).to.be.below(2e-5);
          }), { numRuns: runs });
      });
    }

    it("matmul of a matrix split into row chunks equals the unsplit product", async () => {
      const rows = 700, cols = 64; // 700 x 64 f32 = 179 KB > the 64 KiB cap: 3 chunks
      expect(rowChunks("f32", rows, cols, rt!.maxBindingBytes).length).to.equal(3);
      const { w, dense } = weight(GGMLType.F32, rows, cols, 7);
      const x = randomNormal(2 * cols, 8);
      const want = new Float32Array(2 * rows);
      ref.matmul(want, f32(rows, cols, dense), x, 2);
      expect(maxRelErr(await gpu.matmul(w, x, 2), want)).to.be.below(2e-5);
    });

    it("Q4_0 / Q8_0 packing keeps every code: packed rows decode to the ggml blocks' values", () => {
      for (const type of [GGMLType.Q4_0, GGMLType.Q8_0]) {
        const { w, dense } = weight(type, 3, 64, 11);
        const packed = packRows(w, 0, 3);
        const perBlock = type === GGMLType.Q4_0 ? 7 : 12;
        const radix = type === GGMLType.Q4_0 ? 16 : 256;
        const perFloat = type === GGMLType.Q4_0 ? 6 : 3;
        for (let b = 0; b < 6; b++) {
          const d = packed[b * perBlock];
          for (let i = 0; i < 32; i++) {
            const p = packed[b * perBlock + 1 + Math.floor(i / perFloat)];
            let code = Math.floor(p / radix ** (i % perFloat)) % radix;
            if (type === GGMLType.Q4_0) code -= 8;
            else if (code >= 128) code -= 256;
            expect(Math.abs(packed[b * perBlock + 1 + Math.floor(i / perFloat)])).to.be.below(2 ** 24);
            expect(Math.fround(code * d)).to.equal(dense[b * 32 + i]);
          }
        }
        expect(ggmlRowBytes(type, 64)).to.be.greaterThan(0);
      }
    });

    it("rmsNorm within 1e-5 relative", async () => {
      await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 96 }), fc.integer(), async (nRows, dim, seed) => {
        const x = randomNormal(nRows * dim, seed, 2);
        const wt = randomNormal(dim, seed + 1);
        const want = new Float32Array(nRows * dim);
        ref.rmsNorm(want, x, wt, dim, 1e-5);
        expect(maxRelErr(await gpu.rmsNorm(x, wt, dim, 1e-5), want)).to.be.below(1e-5);
      }), { numRuns: runs });
    });

    it("rope (interleaved and neox, NTK base, partial rotation, positions up to 4096) within 1e-5", async () => {
      await fc.assert(fc.asyncProperty(fc.constantFrom(8, 16, 64), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<RopeParams["layout"]>("interleaved", "neox"), fc.boolean(), fc.integer(),
        async (headDim, nHeads, nTokens, layout, partial, seed) => {
          const p: RopeParams = { headDim, rotDim: partial ? headDim / 2 : headDim, base: 10000 * 2.3, layout };
          const positions = Array.from({ length: nTokens }, (_, i) => (seed >>> 0) % 4000 + i);
          const x = randomNormal(nTokens * nHeads * headDim, seed);
          const want = Float32Array.from(x);
          ref.rope(want, nHeads, positions, p);
          expect(maxRelErr(await gpu.rope(x, nHeads, positions, p), want)).to.be.below(1e-5);
        }), { numRuns: runs });
    });

    it("attention (causal, GQA, prefill and decode) within 1e-5", async () => {
      await fc.assert(fc.asyncProperty(fc.constantFrom([4, 4], [8, 4], [8, 2]), fc.constantFrom(8, 16), fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }), fc.integer(), async ([nHeads, nKvHeads], headDim, pos0, nTokens, seed) => {
          const nCtx = 32;
          const kvDim = nKvHeads * headDim;
          const q = randomNormal(nTokens * nHeads * headDim, seed);
          const k = new Float32Array(nCtx * kvDim);
          const v = new Float32Array(nCtx * kvDim);
          k.set(randomNormal((pos0 + nTokens) * kvDim, seed + 1));
          v.set(randomNormal((pos0 + nTokens) * kvDim, seed + 2));
          const p = { nTokens, pos0, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
          const want = new Float32Array(nTokens * nHeads * headDim);
          ref.attention(want, q, k, v, p);
          expect(maxRelErr(await gpu.attention(q, k, v, p), want)).to.be.below(1e-5);
        }), { numRuns: runs });
    });

    it("swiglu and add within 1e-6", async () => {
      const g = randomNormal(300, 1, 3);
      const u = randomNormal(300, 2);
      const want = new Float32Array(300);
      ref.swiglu(want, g, u);
      expect(maxRelErr(await gpu.swiglu(g, u), want)).to.be.below(1e-6);
      ref.add(want, g, u);
      expect(maxRelErr(await gpu.add(g, u), want)).to.be.below(1e-6);
    });
  });
}
