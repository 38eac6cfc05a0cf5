import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, LlamatsError, ReferenceBackend, type Backend, type WeightMatrix } from "@llamats/tensor";
import { quantKernelsF32, quantizeRows } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import { WasmBackend } from "@llamats/kernels";
import { createWorkerBackend, share, type WorkerBackend } from "@llamats/workers";

const TYPES = [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.Q3_K];

function weight(b: Backend, type: GGMLType, rows: number, cols: number, seed: number): WeightMatrix {
  const f = randomNormal(rows * cols, seed, 0.5);
  let bytes: Uint8Array;
  if (type === GGMLType.F32) bytes = new Uint8Array(f.buffer);
  else if (type === GGMLType.Q3_K) bytes = new Uint8Array(rows * cols * 110 / 256).map((_, i) => (i * 2654435761) >>> 25); // no quantiser: random bytes
  else bytes = quantizeRows(type, f, rows, cols);
  const dst = b.allocBytes(bytes.length);
  dst.set(bytes);
  return { type, rows, cols, bytes: dst };
}

function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe("workers/WorkerBackend", function () {
  this.timeout(120000);
  let backends: WorkerBackend[] = [];
  const wasm = new WasmBackend({ initialBytes: 1 << 20 });
  const ref = new ReferenceBackend({ kernels: quantKernelsF32 });

  before(async () => {
    backends = await Promise.all([1, 2, 3].map((threads) => createWorkerBackend({ threads, initialBytes: 1 << 20 })));
  });
  after(() => backends.forEach((b) => b.dispose()));

  it("splits rows deterministically and completely", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 9 }), (n, k) => {
      let next = 0;
      for (let i = 0; i < k; i++) {
        const [a, b] = share(n, i, k);
        if (a !== next || b < a) return false;
        next = b;
      }
      return next === n;
    }));
  });

  it("matmul: 1, 2 and 3 threads bit-identical to the single-threaded WasmBackend, every type", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 6 }), fc.integer(),
        (type, rows, nb, nTok, seed) => {
          const cols = nb * 256;
          const x = randomNormal(nTok * cols, seed);
          const want = new Float32Array(nTok * rows);
          wasm.matmul(want, weight(wasm, type, rows, cols, seed), x, nTok);
          for (const b of backends) {
            const out = b.allocF32(nTok * rows);
            b.matmul(out, weight(b, type, rows, cols, seed), x, nTok);
            if (!same(out, want)) expect.fail(`${b.name} type ${type} rows ${rows} cols ${cols} nTok ${nTok}`);
          }
        }),
      { numRuns: 30 },
    );
  });

  it("matmul F32 against the ReferenceBackend within 1e-5 of sum |w x|", () => {
    const rows = 33, cols = 70, nTok = 3;
    const x = randomNormal(nTok * cols, 3);
    const b = backends[1]!;
    const w = weight(b, GGMLType.F32, rows, cols, 4);
    const out = b.allocF32(nTok * rows);
    const want = new Float32Array(nTok * rows);
    b.matmul(out, w, x, nTok);
    ref.matmul(want, w, x, nTok);
    const wf = new Float32Array(w.bytes.buffer, w.bytes.byteOffset, rows * cols);
    for (let t = 0; t < nTok; t++) for (let r = 0; r < rows; r++) {
      let a = 0;
      for (let c = 0; c < cols; c++) a += Math.abs(wf[r * cols + c]! * x[t * cols + c]!);
      expect(Math.abs(out[t * rows + r]! - want[t * rows + r]!)).to.be.at.most(1e-5 * a);
    }
  });

  it("attention split by heads equals the ReferenceBackend bit for bit (GQA, prefill and decode)", () => {
    fc.assert(
      fc.property(fc.constantFrom([4, 4], [4, 2], [6, 3], [8, 1]), fc.constantFrom(8, 16), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer(),
        ([nHeads, nKvHeads], headDim, pos0, nTokens, seed) => {
          const nCtx = 12;
          const params = { nTokens, pos0, nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, scale: 1 / Math.sqrt(headDim) };
          const qv = randomNormal(nTokens * nHeads! * headDim, seed);
          const kv = randomNormal(nCtx * nKvHeads! * headDim, seed + 1);
          const vv = randomNormal(nCtx * nKvHeads! * headDim, seed + 2);
          const want = new Float32Array(qv.length);
          ref.attention(want, qv, kv, vv, params);
          for (const b of backends) {
            const q = b.allocF32(qv.length); q.set(qv);
            const k = b.allocF32(kv.length); k.set(kv);
            const v = b.allocF32(vv.length); v.set(vv);
            const out = b.allocF32(qv.length);
            b.attention(out, q, k, v, params);
            if (!same(out, want)) expect.fail(`${b.name} ${JSON.stringify(params)}`);
          }
        }),
      { numRuns: 25 },
    );
  });

  it("attention over an f16 / q8_0 KV cache split by heads equals the ReferenceBackend bit for bit at every thread count", () => {
    fc.assert(
      fc.property(fc.constantFrom<"f16" | "q8_0">("f16", "q8_0"), fc.constantFrom([4, 4], [4, 2], [8, 4], [8, 1]), fc.constantFrom(8, 16, 32),
        fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer(),
        (type, [nHeads, nKvHeads], headDim, pos0, nTokens, seed) => {
          const kvDim = nKvHeads! * headDim;
          if (type === "q8_0" && kvDim % 32 !== 0) return;
          const nCtx = 12;
          const params = { nTokens, pos0, nHeads: nHeads!, nKvHeads: nKvHeads!, headDim, scale: 1 / Math.sqrt(headDim) };
          const qv = randomNormal(nTokens * nHeads! * headDim, seed);
          const gtype = type === "f16" ? GGMLType.F16 : GGMLType.Q8_0;
          const kBytes = quantizeRows(gtype, randomNormal(nCtx * kvDim, seed + 1), nCtx, kvDim);
          const vBytes = quantizeRows(gtype, randomNormal(nCtx * kvDim, seed + 2), nCtx, kvDim);
          const view = (bytes: Uint8Array) => (type === "f16" ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) : bytes);
          const want = new Float32Array(qv.length);
          ref.attention(want, qv, view(kBytes), view(vBytes), params);
          for (const b of backends) {
            const q = b.allocF32(qv.length); q.set(qv);
            const k = b.allocBytes(kBytes.length); k.set(kBytes);
            const v = b.allocBytes(vBytes.length); v.set(vBytes);
            const out = b.allocF32(qv.length);
            b.attention(out, q, view(k), view(v), params);
            if (!same(out, want)) expect.fail(`${b.name} ${type} ${JSON.stringify(params)}`);
          }
        }),
      { numRuns: 25 },
    );
  });

  it("the other ops equal the ReferenceBackend", () => {
    const b = backends[2]!;
    const x = randomNormal(64, 5);
    const wt = randomNormal(32, 6);
    const o1 = b.allocF32(64), o2 = new Float32Array(64);
    b.rmsNorm(o1, x, wt, 32, 1e-6); ref.rmsNorm(o2, x, wt, 32, 1e-6);
    expect(same(o1, o2)).to.equal(true);
    const g = randomNormal(64, 7);
    b.swiglu(o1, x, g); ref.swiglu(o2, x, g);
    expect(same(o1, o2)).to.equal(true);
    const r1 = Float32Array.from(x), r2 = Float32Array.from(x);
    b.rope(r1, 2, [3, 4], { headDim: 16, base: 10000, layout: "interleaved" });
    ref.rope(r2, 2, [3, 4], { headDim: 16, base: 10000, layout: "interleaved" });
    expect(same(r1, r2)).to.equal(true);
    const table = weight(b, GGMLType.Q8_0, 10, 32, 8);
    const e1 = b.allocF32(64), e2 = new Float32Array(64);
    b.embedding(e1, table, [3, 9]); ref.embedding(e2, table, [3, 9]);
    expect(same(e1, e2)).to.equal(true);
  });

  it("swiglu split between threads equals the ReferenceBackend bit for bit (in place too)", () => {
    for (const n of [2048, 5001]) {
      const gate = randomNormal(n, 11, 4), up = randomNormal(n, 12);
      const want = new Float32Array(n);
      ref.swiglu(want, gate, up);
      for (const b of backends) {
        const g = b.allocF32(n), u = b.allocF32(n), o = b.allocF32(n);
        g.set(gate); u.set(up);
        b.swiglu(o, g, u);
        expect(same(o, want)).to.equal(true);
        b.swiglu(g, g, u); // the engine's in-place call
        expect(same(g, want)).to.equal(true);
      }
    }
  });

  it("a kernel trap in any thread becomes an error, not a hang, and the backend stays usable", () => {
    for (const b of backends) {
      // A job whose weight address lies outside the memory: every thread's share traps.
      const job = { kernel: "qmm_q8_0", memory: 0, args: [0x7fff0000, 34, 0, 8, 1, 1 << 18, 1 << 18, 1 << 18, 1, 1 << 18, 8], rows: 8 };
      expect(() => (b as unknown as { runJob(j: typeof job): void }).runJob(job)).to.throw();
      const w = weight(b, GGMLType.Q8_0, 4, 32, 1);
      const out = b.allocF32(4);
      b.matmul(out, w, new Float32Array(32).fill(1), 1);
      expect(out.every((v) => Number.isFinite(v))).to.equal(true);
    }
  });

  it("spinning and blocking dispatch give the same bits; auto spin backs off when it does not pay", async () => {
    const spinning = await createWorkerBackend({ threads: 2, spin: 5000, initialBytes: 1 << 20 });
    const auto = await createWorkerBackend({ threads: 2, initialBytes: 1 << 20 });
    try {
      const rows = 64, cols = 256, x = randomNormal(cols, 1);
      const want = new Float32Array(rows);
      wasm.matmul(want, weight(wasm, GGMLType.Q4_0, rows, cols, 2), x, 1);
      for (const b of [spinning, auto]) {
        const w = weight(b, GGMLType.Q4_0, rows, cols, 2);
        const out = b.allocF32(rows);
        for (let i = 0; i < 600; i++) b.matmul(out, w, x, 1);
        expect(same(out, want)).to.equal(true);
        expect(b.stats.jobs).to.be.at.least(600);
      }
      expect(spinning.spin).to.equal(5000); // an explicit budget is kept
      expect(auto.spin).to.be.at.least(0);
    } finally {
      spinning.dispose();
      auto.dispose();
    }
  });

  it("a worker thread that exits outright fails the pending op (no hang), and every later op", async () => {
    for (const threads of [2, 3]) {
      const b = await createWorkerBackend({ threads, initialBytes: 1 << 20 });
      try {
        const t0 = Date.now();
        expect(() => b.killWorkerForTest(threads - 1)).to.throw(LlamatsError, new RegExp(`worker thread ${threads - 1} exited`));
        expect(Date.now() - t0).to.be.below(10000);
        const w = weight(b, GGMLType.Q4_0, 8, 64, 3);
        expect(() => b.matmul(b.allocF32(8), w, new Float32Array(64).fill(1), 1)).to.throw(LlamatsError, /exited/);
      } finally {
        b.dispose();
      }
    }
  });

  it("refuses work after dispose() instead of waiting for workers that are gone", async () => {
    const b = await createWorkerBackend({ threads: 2, initialBytes: 1 << 20 });
    const q = b.allocF32(16), k = b.allocF32(16), v = b.allocF32(16), out = b.allocF32(16);
    b.dispose();
    expect(() => b.attention(out, q, k, v, { nTokens: 1, pos0: 0, nHeads: 2, nKvHeads: 2, headDim: 8, scale: 0.3 })).to.throw(/dispose/);
    expect(() => b.matmul(b.allocF32(1), { type: GGMLType.F32, rows: 1, cols: 8, bytes: b.allocBytes(32) }, new Float32Array(8), 1)).to.throw(/dispose/);
  });

  it("refuses a weight whose bytes are shorter than its shape", () => {
    const b = backends[1]!;
    const w: WeightMatrix = { type: GGMLType.Q4_0, rows: 4, cols: 64, bytes: b.allocBytes(10) };
    expect(() => b.matmul(b.allocF32(4), w, new Float32Array(64), 1)).to.throw(/needs 144 bytes/);
  });

  it("weights spread over several WebAssembly memories", async () => {
    // 1 MiB memories force a new memory every few weights; workers receive them as they open.
    const small = await createWorkerBackend({ threads: 2, maxBytesPerMemory: 1 << 20, scratchReserve: 192 << 10, initialBytes: 64 << 10 });
    try {
      const cols = 512, rows = 300, nTok = 2;
      const x = randomNormal(nTok * cols, 11);
      for (let i = 0; i < 10; i++) {
        const w = weight(small, GGMLType.Q8_0, rows, cols, i);
        const out = small.allocF32(nTok * rows);
        const want = new Float32Array(nTok * rows);
        small.matmul(out, w, x, nTok);
        wasm.matmul(want, weight(wasm, GGMLType.Q8_0, rows, cols, i), x, nTok);
        expect(same(out, want)).to.equal(true);
      }
      expect(small.arena.memories.length).to.be.greaterThan(2);
    } finally {
      small.dispose();
    }
  });
});
