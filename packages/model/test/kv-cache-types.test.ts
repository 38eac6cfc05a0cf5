// KV cache storage types (f16, q8_0): the store codec against @llamats/quant's row codecs
// (bit for bit), the decode against quant's dequantisers (bit for bit, any span), the round
// trip error bounds, and attention reading a typed cache against attention over an f32
// cache holding the decoded values (bit for bit: the decode is exact, the sums the same).
import { expect } from "chai";
import fc from "fast-check";
import { KVCache, storeKVRows } from "@llamats/model";
import { dequantizeRows, quantizeRows } from "@llamats/quant";
import { decodeKVSpan, GGMLType, kvRowBytes, LlamatsError, ReferenceBackend, type KVCacheType, type KVRows } from "@llamats/tensor";

const backend = new ReferenceBackend();
const F16_MAX = 65504;

/** float32 values, most of them ordinary activations, some tiny, some near the f16 limits. */
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.float({ min: -8, max: 8, noNaN: true }) },
  { weight: 1, arbitrary: fc.float({ min: Math.fround(-1e-6), max: Math.fround(1e-6), noNaN: true }) },
  { weight: 1, arbitrary: fc.float({ min: -F16_MAX, max: F16_MAX, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 6.1e-5, -6.1e-5, 5.96e-8, 65504, -65504).map(Math.fround) },
);
const rowsArb = (kvDimArb: fc.Arbitrary<number>) => kvDimArb.chain((kvDim) =>
  fc.integer({ min: 1, max: 4 }).chain((n) => fc.array(valueArb, { minLength: n * kvDim, maxLength: n * kvDim }).map((v) => ({ kvDim, n, src: Float32Array.from(v) }))));
const kvDimQ8 = fc.integer({ min: 1, max: 4 }).map((b) => 32 * b);

function typed(type: KVCacheType, units: number): KVRows {
  return type === "f32" ? new Float32Array(units) : type === "f16" ? new Uint16Array(units) : new Uint8Array(units);
}

function bytesOf(a: KVRows): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe("model/KV cache storage types", () => {
  it("f16 store is bit for bit @llamats/quant's F16 row codec (round to nearest even)", () => {
    fc.assert(fc.property(rowsArb(fc.integer({ min: 1, max: 40 })), fc.integer({ min: 0, max: 3 }), ({ kvDim, n, src }, row) => {
      const dst = new Uint16Array((row + n) * kvDim);
      storeKVRows(dst, row, src, n, kvDim);
      const want = quantizeRows(GGMLType.F16, src, n, kvDim);
      expect(Buffer.from(bytesOf(dst.subarray(row * kvDim))).equals(Buffer.from(want))).to.equal(true);
    }), { numRuns: 300 });
  });

  it("q8_0 store is bit for bit @llamats/quant's Q8_0 rows (ggml block layout: f16 d, 32 int8)", () => {
    fc.assert(fc.property(rowsArb(kvDimQ8), fc.integer({ min: 0, max: 3 }), ({ kvDim, n, src }, row) => {
      const rowBytes = kvRowBytes("q8_0", kvDim);
      expect(rowBytes).to.equal((kvDim / 32) * 34);
      const dst = new Uint8Array((row + n) * rowBytes);
      storeKVRows(dst, row, src, n, kvDim);
      const want = quantizeRows(GGMLType.Q8_0, src, n, kvDim);
      expect(Buffer.from(dst.subarray(row * rowBytes)).equals(Buffer.from(want))).to.equal(true);
    }), { numRuns: 300 });
  });

  it("decodeKVSpan of any span equals quant's dequantisation bit for bit (f32, f16, q8_0)", () => {
    const arb = fc.constantFrom<KVCacheType>("f32", "f16", "q8_0").chain((type) =>
      rowsArb(type === "q8_0" ? kvDimQ8 : fc.integer({ min: 1, max: 40 })).chain((r) =>
        fc.record({ row: fc.integer({ min: 0, max: r.n - 1 }), e0: fc.integer({ min: 0, max: r.kvDim - 1 }) }).chain(({ row, e0 }) =>
          fc.integer({ min: 1, max: r.kvDim - e0 }).map((len) => ({ type, ...r, row, e0, len })))));
    fc.assert(fc.property(arb, ({ type, kvDim, n, src, row, e0, len }) => {
      const store = typed(type, (n * kvRowBytes(type, kvDim)) / (type === "f32" ? 4 : type === "f16" ? 2 : 1));
      storeKVRows(store, 0, src, n, kvDim);
      const full = type === "f32" ? src : dequantizeRows(type === "f16" ? GGMLType.F16 : GGMLType.Q8_0, bytesOf(store), n, kvDim);
      const got = new Float32Array(len);
      decodeKVSpan(store, kvDim, row, e0, len, got);
      const want = full.subarray(row * kvDim + e0, row * kvDim + e0 + len);
      expect(Array.from(got)).to.deep.equal(Array.from(want));
    }), { numRuns: 300 });
  });

  it("round trip error: f16 within half an ulp (2^-11 relative, 2^-25 absolute below 2^-14); q8_0 within amax * (1/254 + 2^-11) + 127 * 2^-25 per block (the last term: an f16 scale in or below the subnormal range)", () => {
    fc.assert(fc.property(rowsArb(kvDimQ8), ({ kvDim, n, src }) => {
      const h = new Uint16Array(n * kvDim);
      storeKVRows(h, 0, src, n, kvDim);
      const q = new Uint8Array(n * kvRowBytes("q8_0", kvDim));
      storeKVRows(q, 0, src, n, kvDim);
      const back16 = new Float32Array(kvDim);
      const back8 = new Float32Array(kvDim);
      for (let r = 0; r < n; r++) {
        decodeKVSpan(h, kvDim, r, 0, kvDim, back16);
        decodeKVSpan(q, kvDim, r, 0, kvDim, back8);
        for (let b = 0; b < kvDim; b += 32) {
          let amax = 0;
          for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[r * kvDim + b + j]));
          for (let j = b; j < b + 32; j++) {
            const x = src[r * kvDim + j];
            const tol16 = Math.abs(x) < 2 ** -14 ? 2 ** -25 : Math.abs(x) * 2 ** -11;
            expect(Math.abs(back16[j] - x), `f16 of ${x}`).to.be.at.most(tol16);
            expect(Math.abs(back8[j] - x), `q8_0 of ${x} (amax ${amax})`).to.be.at.most(amax * (1 / 254 + 2 ** -11) + 127 * 2 ** -25);
          }
        }
      }
    }), { numRuns: 300 });
  });

  it("attention over an f16 / q8_0 cache equals attention over the decoded f32 cache, bit for bit (GQA, prefill and decode, probabilities too)", () => {
    const arb = fc.record({
      type: fc.constantFrom<KVCacheType>("f16", "q8_0"),
      nKvHeads: fc.integer({ min: 1, max: 4 }),
      group: fc.integer({ min: 1, max: 3 }),
      headDimUnit: fc.constantFrom(8, 16, 32, 64),
      pos0: fc.integer({ min: 0, max: 20 }),
      nTokens: fc.integer({ min: 1, max: 5 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    }).filter((s) => (s.nKvHeads * s.headDimUnit) % 32 === 0 || s.type === "f16");
    fc.assert(fc.property(arb, ({ type, nKvHeads, group, headDimUnit: headDim, pos0, nTokens, seed }) => {
      const nHeads = nKvHeads * group;
      const kvDim = nKvHeads * headDim;
      const rows = pos0 + nTokens;
      let s = seed;
      const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
      const kf = Float32Array.from({ length: rows * kvDim }, rnd);
      const vf = Float32Array.from({ length: rows * kvDim }, rnd);
      const q = Float32Array.from({ length: nTokens * nHeads * headDim }, rnd);
      const cache = new KVCache(backend, 1, rows + 3, kvDim, type);
      cache.write(0, 0, kf, vf, rows);
      const kd = new Float32Array(rows * kvDim);
      const vd = new Float32Array(rows * kvDim);
      for (let r = 0; r < rows; r++) {
        decodeKVSpan(cache.layerK(0), kvDim, r, 0, kvDim, kd.subarray(r * kvDim));
        decodeKVSpan(cache.layerV(0), kvDim, r, 0, kvDim, vd.subarray(r * kvDim));
      }
      const p = { nTokens, pos0, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
      const want = new Float32Array(q.length);
      const probsWant = new Float32Array(nTokens * nHeads * rows);
      backend.attention(want, q, kd, vd, p, probsWant);
      const got = new Float32Array(q.length);
      const probs = new Float32Array(nTokens * nHeads * rows);
      backend.attention(got, q, cache.layerK(0), cache.layerV(0), p, probs);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).to.equal(true);
      expect(Buffer.from(probs.buffer).equals(Buffer.from(probsWant.buffer))).to.equal(true);
    }), { numRuns: 150 });
  });

  it("memory: f16 is half of f32, q8_0 is 34/128 of it", () => {
    const f32 = new KVCache(backend, 2, 16, 64, "f32");
    const f16 = new KVCache(backend, 2, 16, 64, "f16");
    const q8 = new KVCache(backend, 2, 16, 64, "q8_0");
    expect(f32.byteLength).to.equal(2 * 2 * 16 * 64 * 4);
    expect(f16.byteLength).to.equal(f32.byteLength / 2);
    expect(q8.byteLength).to.equal((f32.byteLength * 34) / 128);
    expect(f16.layerK(1).length).to.equal(16 * 64);
    expect(q8.layerV(1).length).to.equal(16 * 2 * 34);
  });

  it("q8_0 refuses a kvDim that is not a multiple of 32 (typed error, not a crash)", () => {
    expect(() => new KVCache(backend, 2, 8, 48, "q8_0")).to.throw(LlamatsError, /multiple of 32/);
    expect(new KVCache(backend, 2, 8, 48, "f16").type).to.equal("f16");
  });
});
