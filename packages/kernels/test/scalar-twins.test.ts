// The WebAssembly kernels against their scalar twins (src/scalar.ts, same traversal and f32
// operation order), bit for bit: a change to either side's arithmetic shows up here, where
// the float64 comparisons (fmatmul.test.ts, qmatmul.test.ts) only bound the error.

import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, encodeF16, ggmlTypeInfo, type WeightMatrix } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import {
  SharedArena, WasmMatmul, fmatmulScalar, kernelModule, qmatmulScalar, quantizeActivationsQ8_0, relaxedSimdAvailable, SCALAR_QMATMUL_TYPES,
  SCALAR_RELAXED_QMATMUL_TYPES,
} from "@llamats/kernels";
import { blockElems, makeWeights, quantised, type WeightKind } from "./helpers.js";

/** Bit patterns, so that -0 / +0 and NaN payloads count too. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("kernels/scalar twins (bit for bit)", () => {
  const mm = new WasmMatmul(new SharedArena({ initialBytes: 1 << 21 }), kernelModule({ relaxed: false }));

  for (const type of [GGMLType.F32, GGMLType.F16]) {
    it(`float matmul ${type === GGMLType.F32 ? "f32" : "f16"} = fmatmulScalar (cols % 8 tails, 4-token tiles and single tokens)`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 45 }), fc.integer({ min: 1, max: 9 }), fc.integer(), fc.boolean(),
          (rows, cols, nTok, seed, extreme) => {
            const wf = randomNormal(rows * cols, seed, extreme ? 5e3 : 1);
            if (extreme) for (let i = 0; i < wf.length; i += 3) wf[i] = wf[i]! * 1e-9;
            const bytes = type === GGMLType.F32 ? new Uint8Array(wf.buffer) : new Uint8Array(encodeF16(wf).buffer);
            const w: WeightMatrix = { type, rows, cols, bytes };
            const x = randomNormal(nTok * cols, seed + 1);
            const got = new Float32Array(nTok * rows);
            const want = new Float32Array(nTok * rows);
            mm.matmul(got, w, x, nTok);
            fmatmulScalar(want, w, x, nTok);
            expect(bits(got)).to.deep.equal(bits(want));
          }),
        { numRuns: 60 },
      );
    });
  }

  // The relaxed-SIMD module, Q4_0 in its standard layout (the Q4_0x4 repack has its own twin).
  const relaxedMm = () => new WasmMatmul(new SharedArena({ initialBytes: 1 << 21 }), kernelModule({ relaxed: true }), { repack: false });
  const forms = [
    ...SCALAR_QMATMUL_TYPES.map((type) => ({ type, relaxed: false })),
    ...SCALAR_RELAXED_QMATMUL_TYPES.map((type) => ({ type, relaxed: true })),
  ];
  for (const { type, relaxed } of forms) {
    const name = ggmlTypeInfo(type)!.name;
    it(`quantised matmul ${name} (${relaxed ? "relaxed" : "plain"} SIMD) = qmatmulScalar`, function () {
      if (relaxed && !relaxedSimdAvailable()) this.skip();
      const m = relaxed ? relaxedMm() : mm;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.integer(),
          fc.constantFrom<WeightKind>("normal", "zero", "extreme", "mixed"), (rows, nG, nTokens, seed, kind) => {
            const cols = Math.ceil((nG * 32) / blockElems(type)) * blockElems(type);
            nG = cols / 32;
            const w: WeightMatrix = { type, rows, cols, bytes: quantised(type, makeWeights(kind, rows * cols, seed), rows, cols) };
            // Every run also checks one token alone (the generation tiles).
            for (const nTok of [nTokens, 1]) {
              const x = randomNormal(nTok * cols, seed + 7, kind === "extreme" ? 300 : 1);
              const got = new Float32Array(nTok * rows);
              m.matmul(got, w, x, nTok);
              const xq = new Int8Array(nG * nTok * 32);
              const xd = new Float32Array(nG * nTok);
              const xs = new Float32Array(nG * nTok);
              quantizeActivationsQ8_0(x, nTok, cols, xq, xd, xs);
              const want = new Float32Array(nTok * rows);
              qmatmulScalar(want, w, xq, xd, xs, nTok, { relaxed });
              expect(bits(got), `${nTok} token(s)`).to.deep.equal(bits(want));
            }
          }),
        { numRuns: blockElems(type) > 32 ? 25 : 80 },
      );
    });
  }
});
