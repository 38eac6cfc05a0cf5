import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, ggmlTypeInfo, type WeightMatrix } from "@llamats/tensor";
import { quantizeRowQ8_0 } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import { quantizeActivationsQ8_0, SharedArena, WasmMatmul, QUANT_KERNEL_TYPES, kernelModule, relaxedSimdAvailable } from "@llamats/kernels";
import { idealProduct, makeWeights, q8Dequant, quantised, blockElems, type WeightKind } from "./helpers.js";

describe("kernels/activations", () => {
  it("quantises rows to Q8_0 byte for byte as @llamats/quant (ggml's quantize_row_q8_0)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer(), fc.constantFrom(1e-3, 1, 300), (nTok, nG, seed, scale) => {
        const cols = nG * 32;
        const x = randomNormal(nTok * cols, seed, scale);
        if (seed % 3 === 0) x.fill(0, 0, 32); // an all-zero group
        const xq = new Int8Array(nG * nTok * 32);
        const xd = new Float32Array(nG * nTok);
        const xs = new Float32Array(nG * nTok);
        quantizeActivationsQ8_0(x, nTok, cols, xq, xd, xs);
        const ref = new Uint8Array(nG * 34);
        const dv = new DataView(ref.buffer);
        for (let t = 0; t < nTok; t++) {
          quantizeRowQ8_0(x, t * cols, cols, ref, 0);
          for (let g = 0; g < nG; g++) {
            const refQs = new Int8Array(ref.buffer, g * 34 + 2, 32);
            expect([...xq.subarray((g * nTok + t) * 32, (g * nTok + t + 1) * 32)]).to.deep.equal([...refQs]);
            const d = xd[g * nTok + t]!;
            expect(Math.fround(d)).to.equal(d);
            // xd equals the f16 scale ggml stores.
            const h = dv.getUint16(g * 34, true);
            const sign = h >> 15 ? -1 : 1;
            const e = (h >> 10) & 31;
            const mnt = h & 1023;
            const hv = sign * (e === 0 ? mnt * 2 ** -24 : (1 + mnt / 1024) * 2 ** (e - 15));
            expect(d).to.equal(hv);
            let sum = 0;
            for (const q of refQs) sum += q;
            expect(xs[g * nTok + t]).to.equal(Math.fround(hv * sum));
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("kernels/SIMD activation quantiser", () => {
  it("writes the same codes, scales and sums as quantizeActivationsQ8_0, ties included", () => {
    const mm = new WasmMatmul(new SharedArena({ initialBytes: 1 << 20 }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer(), fc.constantFrom(1e-3, 1, 300), (nTok, nG, seed, scale) => {
        const cols = nG * 32;
        const x = randomNormal(nTok * cols, seed, scale);
        // Ties: a group with amax 127 has d = 1, so k + 0.5 values hit roundf's half case.
        if (seed % 2 === 0) for (let j = 0; j < 32; j++) x[j] = j === 0 ? -127 : ((j * 37) % 200) / 2 - 50;
        if (seed % 3 === 0) x.fill(0, cols - 32, cols); // an all-zero group
        const w = { type: GGMLType.Q8_0, rows: 1, cols, bytes: new Uint8Array(nG * 34) };
        const { job } = mm.prepare(w, x, nTok);
        const [, , , , , xqOff, xdOff, xsOff] = job.args as number[];
        const buf = mm.arena.buffer(job.memory);
        const xq = new Int8Array(nG * nTok * 32);
        const xd = new Float32Array(nG * nTok);
        const xs = new Float32Array(nG * nTok);
        quantizeActivationsQ8_0(x, nTok, cols, xq, xd, xs);
        expect([...new Int8Array(buf, xqOff!, xq.length)]).to.deep.equal([...xq]);
        expect([...new Float32Array(buf, xdOff!, xd.length)]).to.deep.equal([...xd]);
        expect([...new Float32Array(buf, xsOff!, xs.length)]).to.deep.equal([...xs]);
      }),
      { numRuns: 60 },
    );
  });
});

for (const relaxed of [false, true]) describe(`kernels/quantised matmul vs dequantise-then-float64 (${relaxed ? "relaxed" : "plain"} SIMD)`, () => {
  const arena = new SharedArena({ initialBytes: 1 << 20 });
  const mm = new WasmMatmul(arena, kernelModule({ relaxed }));
  before(function () {
    if (relaxed && !relaxedSimdAvailable()) this.skip();
  });
  for (const type of QUANT_KERNEL_TYPES) {
    const name = ggmlTypeInfo(type)!.name;
    it(`${name}: random shapes, odd sizes, zero and extreme blocks`, () => {
      const bs = blockElems(type);
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 19 }), // rows (odd sizes cross the 16-row band)
          fc.integer({ min: 1, max: bs === 256 ? 3 : 9 }), // blocks per row
          fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 9 })), // tokens: generation (1), tiles of 4 and a remainder
          fc.constantFrom<WeightKind>("normal", "zero", "extreme", "mixed"),
          fc.integer(),
          (rows, nb, nTok, kind, seed) => {
            const cols = nb * bs;
            const wf = makeWeights(kind, rows * cols, seed);
            const bytes = quantised(type, wf, rows, cols);
            const w: WeightMatrix = { type, rows, cols, bytes };
            const x = randomNormal(nTok * cols, seed ^ 0x5bd1e995, 1);
            const out = new Float32Array(nTok * rows).fill(NaN);
            const { job, outView } = mm.prepare(w, x, nTok);
            mm.run(job, 0, rows);
            out.set(outView);
            const { ideal, bound } = idealProduct(type, bytes, rows, cols, q8Dequant(x, nTok, cols), nTok, 2e-5);
            for (let i = 0; i < out.length; i++) {
              const err = Math.abs(out[i]! - ideal[i]!);
              if (!(err <= bound[i]!)) expect.fail(`${name} rows=${rows} cols=${cols} nTok=${nTok} ${kind} [${i}]: ${out[i]} vs ${ideal[i]} (bound ${bound[i]})`);
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  }

  for (const [type, nTok, cols] of [[GGMLType.Q4_0, 5, 96], [GGMLType.Q4_1, 13, 96], [GGMLType.Q4_0, 1, 224], [GGMLType.Q4_K, 1, 512]] as const) it(`rows split anywhere give bit-identical results (${ggmlTypeInfo(type)!.name}, ${nTok} token(s))`, () => {
    const rows = 37;
    const wf = makeWeights("normal", rows * cols, 7);
    const w: WeightMatrix = { type, rows, cols, bytes: quantised(type, wf, rows, cols) };
    const x = randomNormal(nTok * cols, 9);
    const whole = (() => {
      const { job, outView } = mm.prepare(w, x, nTok);
      mm.run(job, 0, rows);
      return Float32Array.from(outView);
    })();
    for (const cut of [1, 5, 16, 20, 36]) {
      const { job, outView } = mm.prepare(w, x, nTok);
      outView.fill(0);
      mm.run(job, 0, cut);
      mm.run(job, cut, rows);
      expect(Buffer.from(outView.buffer, outView.byteOffset, outView.byteLength).equals(Buffer.from(whole.buffer))).to.equal(true);
    }
  });
});
