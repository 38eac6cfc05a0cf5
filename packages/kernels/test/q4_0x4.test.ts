// The Q4_0x4 repack (src/repack.ts) and its kernel (src/codegen/q4_0x4.ts): the layout round
// trips, the kernel equals its scalar twin bit for bit (rows in groups of four) and the plain
// Q4_0 kernel on the tail rows, stays within the float64 bound, gives the same bits however
// rows are split and tokens tiled, converts every finite f16 scale exactly, and leaves
// matrices with non-finite scales in the standard layout.

import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, ReferenceBackend, f16ToF32, type WeightMatrix } from "@llamats/tensor";
import { quantKernelsF32 } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import {
  SharedArena, WasmBackend, WasmMatmul, canRepackQ4_0x4, isRepackedQ4_0x4, kernelModule, q4_0x4MatmulScalar, quantizeActivationsQ8_0,
  relaxedSimdAvailable, repackQ4_0x4, unpackRowQ4_0x4,
} from "@llamats/kernels";
import { idealProduct, makeWeights, q8Dequant, quantised, type WeightKind } from "./helpers.js";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const kinds = fc.constantFrom<WeightKind>("normal", "zero", "extreme", "mixed");

describe("kernels/Q4_0x4 layout", () => {
  it("every row unpacks to its standard Q4_0 bytes (in place and copied), tail rows untouched", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 7 }), fc.integer(), (rows, nb, seed) => {
        const cols = 32 * nb;
        const std = quantised(GGMLType.Q4_0, makeWeights("normal", rows * cols, seed), rows, cols);
        const copy = new Uint8Array(std.length);
        repackQ4_0x4(std, copy, rows, cols);
        const inPlace = std.slice();
        repackQ4_0x4(inPlace, inPlace, rows, cols);
        expect(Buffer.from(inPlace).equals(Buffer.from(copy))).to.equal(true);
        const rowBytes = 18 * nb;
        if (rows >= 8) expect(Buffer.from(copy).equals(Buffer.from(std))).to.equal(false);
        const row = new Uint8Array(rowBytes);
        for (let r = 0; r < rows; r++) {
          unpackRowQ4_0x4(copy, rows, cols, r, row);
          expect([...row]).to.deep.equal([...std.subarray(r * rowBytes, (r + 1) * rowBytes)]);
        }
        const tail = (rows & ~3) * rowBytes;
        expect([...copy.subarray(tail)]).to.deep.equal([...std.subarray(tail)]);
      }),
      { numRuns: 60 },
    );
  });

  it("refuses matrices it cannot hold: other types, fewer than 4 rows, an Inf or NaN scale", () => {
    const cols = 64;
    const std = quantised(GGMLType.Q4_0, makeWeights("normal", 8 * cols, 1), 8, cols);
    expect(canRepackQ4_0x4(GGMLType.Q4_0, std, 8, cols)).to.equal(true);
    expect(canRepackQ4_0x4(GGMLType.Q4_1, std, 8, cols)).to.equal(false);
    expect(canRepackQ4_0x4(GGMLType.Q4_0, std, 3, cols)).to.equal(false);
    for (const h of [0x7c00, 0xfc00, 0x7e00]) {
      const bad = std.slice();
      bad[5 * 18] = h & 0xff;
      bad[5 * 18 + 1] = h >> 8;
      expect(canRepackQ4_0x4(GGMLType.Q4_0, bad, 8, cols)).to.equal(false);
    }
  });
});

describe("kernels/Q4_0x4 kernel (relaxed SIMD)", () => {
  before(function () {
    if (!relaxedSimdAvailable()) this.skip();
  });
  const module = () => kernelModule({ relaxed: true });
  const x4 = () => new WasmMatmul(new SharedArena({ initialBytes: 1 << 20 }), module());
  const plain = () => new WasmMatmul(new SharedArena({ initialBytes: 1 << 20 }), module(), { repack: false });

  it("= q4_0x4MatmulScalar bit for bit on row groups, = the plain Q4_0 kernel on tail rows", () => {
    const a = x4();
    const b = plain();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer(), kinds, fc.boolean(),
        (rows, nb, nTokens, seed, kind, arenaBytes) => {
          const cols = 32 * nb;
          const std = quantised(GGMLType.Q4_0, makeWeights(kind, rows * cols, seed), rows, cols);
          // Weights already in the arena are repacked in place; others are copied in repacked.
          let bytes = std;
          if (arenaBytes) {
            bytes = a.arena.u8(a.arena.alloc(std.length));
            bytes.set(std);
          }
          const w: WeightMatrix = { type: GGMLType.Q4_0, rows, cols, bytes };
          for (const nTok of [nTokens, 1]) {
            const x = randomNormal(nTok * cols, seed + 7, kind === "extreme" ? 300 : 1);
            const got = new Float32Array(nTok * rows);
            a.matmul(got, w, x, nTok);
            expect(isRepackedQ4_0x4(bytes)).to.equal(arenaBytes && rows >= 4);
            const tail = new Float32Array(nTok * rows);
            b.matmul(tail, { type: GGMLType.Q4_0, rows, cols, bytes: std }, x, nTok);
            const xq = new Int8Array(nb * nTok * 32);
            const xd = new Float32Array(nb * nTok);
            const xs = new Float32Array(nb * nTok);
            quantizeActivationsQ8_0(x, nTok, cols, xq, xd, xs);
            const packed = new Uint8Array(std.length);
            repackQ4_0x4(std, packed, rows, cols);
            const want = Float32Array.from(tail); // tail rows: the plain kernel's
            q4_0x4MatmulScalar(want, packed, rows, cols, xq, xd, nTok);
            expect(bits(got), `${rows}x${cols}, ${nTok} token(s), ${kind}`).to.deep.equal(bits(want));
          }
        }),
      { numRuns: 80 },
    );
  });

  it("the x4 activation records hold quantizeActivationsQ8_0's codes, scales and -8 * sums", () => {
    const a = x4();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer(), fc.constantFrom(1e-3, 1, 300), (nTok, nG, seed, scale) => {
        const cols = 32 * nG;
        const x = randomNormal(nTok * cols, seed, scale);
        if (seed % 3 === 0) x.fill(0, 0, 32);
        const w: WeightMatrix = { type: GGMLType.Q4_0, rows: 4, cols, bytes: new Uint8Array(4 * 18 * nG) };
        const { job } = a.prepare(w, x, nTok);
        expect(job.kernel).to.equal("qmm_q4_0x4");
        const [, , , , , , , xsOff] = job.args as number[];
        const n = nG * nTok;
        const rec = Math.ceil((xsOff! + 4 * n) / 16) * 16;
        const buf = a.arena.buffer(job.memory);
        const xq = new Int8Array(n * 32);
        const xd = new Float32Array(n);
        const xs = new Float32Array(n);
        quantizeActivationsQ8_0(x, nTok, cols, xq, xd, xs);
        for (let i = 0; i < n; i++) {
          const at = rec + 48 * i;
          const codes = new Int8Array(buf, at + 16, 32);
          expect([...codes]).to.deep.equal([...xq.subarray(32 * i, 32 * i + 32)]);
          expect(new Float32Array(buf, at, 1)[0]).to.equal(xd[i]);
          expect(new Int32Array(buf, at + 4, 1)[0]).to.equal(-8 * codes.reduce((s, c) => s + c, 0));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("within the float64 bound of the dequantised product (random shapes, odd rows, extreme blocks)", () => {
    const a = x4();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), kinds, fc.integer(), (rows, nb, nTok, kind, seed) => {
        const cols = 32 * nb;
        const bytes = quantised(GGMLType.Q4_0, makeWeights(kind, rows * cols, seed), rows, cols);
        const x = randomNormal(nTok * cols, seed ^ 0x5bd1e995, 1);
        const out = new Float32Array(nTok * rows);
        a.matmul(out, { type: GGMLType.Q4_0, rows, cols, bytes }, x, nTok);
        const { ideal, bound } = idealProduct(GGMLType.Q4_0, bytes, rows, cols, q8Dequant(x, nTok, cols), nTok, 2e-5);
        for (let i = 0; i < out.length; i++) {
          if (!(Math.abs(out[i]! - ideal[i]!) <= bound[i]!)) expect.fail(`rows=${rows} cols=${cols} nTok=${nTok} ${kind} [${i}]: ${out[i]} vs ${ideal[i]}`);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("rows split anywhere and tokens in any tile give the same bits", () => {
    const a = x4();
    const rows = 37;
    const cols = 224;
    const nTok = 6;
    const bytes = quantised(GGMLType.Q4_0, makeWeights("normal", rows * cols, 11), rows, cols);
    const w: WeightMatrix = { type: GGMLType.Q4_0, rows, cols, bytes };
    const x = randomNormal(nTok * cols, 12);
    const { job, outView } = a.prepare(w, x, nTok);
    a.run(job, 0, rows);
    const whole = Float32Array.from(outView);
    for (const cut of [1, 2, 5, 16, 21, 34, 36]) {
      const { job: j2, outView: o2 } = a.prepare(w, x, nTok);
      o2.fill(NaN);
      a.run(j2, 0, cut);
      a.run(j2, cut, rows);
      expect(bits(o2), `cut ${cut}`).to.deep.equal(bits(whole));
    }
    // Each token alone (the generation path) equals its row of the 6-token (4 + 2) product.
    for (let t = 0; t < nTok; t++) {
      const one = new Float32Array(rows);
      a.matmul(one, w, x.subarray(t * cols, (t + 1) * cols), 1);
      expect(bits(one.subarray(0, 36))).to.deep.equal(bits(whole.subarray(t * rows, t * rows + 36)));
    }
  });

  it("converts every finite f16 scale exactly (subnormals, signs, the largest)", () => {
    const hs: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) hs.push(h);
    const rows = hs.length; // 63,488: a multiple of 4
    const cols = 32;
    const bytes = new Uint8Array(rows * 18);
    for (let r = 0; r < rows; r++) {
      bytes[r * 18] = hs[r]! & 0xff;
      bytes[r * 18 + 1] = hs[r]! >> 8;
      bytes.fill(0x88, r * 18 + 2, r * 18 + 18); // every code 8: weight 0 ...
      bytes[r * 18 + 2] = 0x89; // ... but element 0: code 9, weight d
    }
    const x = new Float32Array(cols);
    x[0] = 127; // xq[0] = 127, xd = 1
    const out = new Float32Array(rows);
    x4().matmul(out, { type: GGMLType.Q4_0, rows, cols, bytes }, x, 1);
    for (let r = 0; r < rows; r++) {
      const want = Math.fround(127 * f16ToF32(hs[r]!)) + 0; // accumulated onto +0
      if (!Object.is(out[r], want)) expect.fail(`f16 0x${hs[r]!.toString(16)}: ${out[r]} vs ${want}`);
    }
  });

  for (const [badRow, rows] of [[1, 8], [9, 13], [7, 10]] as const) it(`a matrix with an Inf scale (row ${badRow} of ${rows}) stays standard and multiplies as the plain kernel does`, () => {
    const cols = 64;
    const std = quantised(GGMLType.Q4_0, makeWeights("normal", rows * cols, 3), rows, cols);
    std[badRow * 36 + 18] = 0x00;
    std[badRow * 36 + 19] = 0x7c; // +Inf scale in block 1 (groups before it are repacked, then restored)
    const a = x4();
    const bytes = a.arena.u8(a.arena.alloc(std.length));
    bytes.set(std);
    const x = randomNormal(cols, 4);
    const got = new Float32Array(rows);
    const want = new Float32Array(rows);
    a.matmul(got, { type: GGMLType.Q4_0, rows, cols, bytes }, x, 1);
    plain().matmul(want, { type: GGMLType.Q4_0, rows, cols, bytes: std }, x, 1);
    expect(isRepackedQ4_0x4(bytes)).to.equal(false);
    expect(Buffer.from(bytes).equals(Buffer.from(std))).to.equal(true);
    expect(bits(got)).to.deep.equal(bits(want));
  });

  it("the wasm repack (in place in the arena) writes repackQ4_0x4's bytes", () => {
    const a = x4();
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 23 }), fc.integer({ min: 1, max: 12 }), fc.integer(), (rows, nb, seed) => {
        const cols = 32 * nb;
        const std = quantised(GGMLType.Q4_0, makeWeights("extreme", rows * cols, seed), rows, cols);
        const bytes = a.arena.u8(a.arena.alloc(std.length));
        bytes.set(std);
        a.place({ type: GGMLType.Q4_0, rows, cols, bytes });
        const want = new Uint8Array(std.length);
        repackQ4_0x4(std, want, rows, cols);
        expect(isRepackedQ4_0x4(bytes)).to.equal(true);
        expect(Buffer.from(bytes).equals(Buffer.from(want))).to.equal(true);
      }),
      { numRuns: 40 },
    );
  });

  it("embedding reads a table that matmul repacked in place (tied classifier)", () => {
    const be = new WasmBackend({ initialBytes: 1 << 20, relaxed: true });
    const ref = new ReferenceBackend({ kernels: quantKernelsF32 });
    const rows = 11;
    const cols = 96;
    const std = quantised(GGMLType.Q4_0, makeWeights("normal", rows * cols, 5), rows, cols);
    const bytes = be.allocBytes(std.length);
    bytes.set(std);
    const table: WeightMatrix = { type: GGMLType.Q4_0, rows, cols, bytes };
    be.matmul(new Float32Array(rows), table, randomNormal(cols, 6), 1);
    expect(isRepackedQ4_0x4(bytes)).to.equal(true);
    const ids = [0, 3, 7, 8, 10, 5];
    const got = new Float32Array(ids.length * cols);
    const want = new Float32Array(ids.length * cols);
    be.embedding(got, table, ids);
    ref.embedding(want, { ...table, bytes: std }, ids);
    expect(bits(got)).to.deep.equal(bits(want));
    expect(() => be.embedding(got, table, [11])).to.throw(/out of range/);
    // Another view object over the same bytes: known as repacked (not repacked twice).
    const again: WeightMatrix = { ...table, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    const got2 = new Float32Array(ids.length * cols);
    be.embedding(got2, again, ids);
    expect(bits(got2)).to.deep.equal(bits(want));
    const y1 = new Float32Array(rows);
    const y2 = new Float32Array(rows);
    const x = randomNormal(cols, 8);
    be.matmul(y1, table, x, 1);
    be.matmul(y2, again, x, 1);
    expect(bits(y2)).to.deep.equal(bits(y1));
  });
});
