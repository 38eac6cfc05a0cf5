import { expect } from "chai";
import fc from "fast-check";
import { f16ToF32, f32ToF16, encodeF16, LlamatsError } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import { loraDelta, mergeTensor } from "@llamats/lora";

/** B @ A in float64, for comparison. */
function delta64(b: Float32Array, a: Float32Array, out: number, r: number, inDim: number): Float64Array {
  const d = new Float64Array(out * inDim);
  for (let i = 0; i < out; i++) for (let k = 0; k < r; k++) for (let j = 0; j < inDim; j++) d[i * inDim + j] += b[i * r + k] * a[k * inDim + j];
  return d;
}

describe("lora merge core", () => {
  it("loraDelta of a hand-made rank-2 pair", () => {
    // B (2, 2) = [[1, 2], [3, 4]], A (2, 3) = [[1, 0, -1], [0.5, 2, 0]]
    const d = loraDelta({ a: new Float32Array([1, 0, -1, 0.5, 2, 0]), b: new Float32Array([1, 2, 3, 4]), r: 2, scale: 1 }, 2, 3);
    expect(Array.from(d)).to.deep.equal([2, 4, -1, 5, 8, -3]);
  });

  it("loraDelta is within float32 rounding of the float64 product (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer(), (r, out, inDim, seed) => {
        const a = randomNormal(r * inDim, seed);
        const b = randomNormal(out * r, seed + 1);
        const d = loraDelta({ a, b, r, scale: 1 }, out, inDim);
        const ref = delta64(b, a, out, r, inDim);
        for (let i = 0; i < d.length; i++) {
          let mag = 0;
          const row = Math.floor(i / inDim), col = i % inDim;
          for (let k = 0; k < r; k++) mag += Math.abs(b[row * r + k] * a[k * inDim + col]);
          expect(Math.abs(d[i] - ref[i])).to.be.at.most(r * 1.2e-7 * mag + 1e-30);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("mergeTensor rounds to f16 once per LoRA, in order", () => {
    const rows = 5, cols = 7, r = 3;
    const w = randomNormal(rows * cols, 11, 0.5);
    const base = encodeF16(w);
    const l1 = { a: randomNormal(r * cols, 12, 0.1), b: randomNormal(rows * r, 13, 0.1), r, scale: 4 };
    const l2 = { a: randomNormal(r * cols, 14, 0.1), b: randomNormal(rows * r, 15, 0.1), r, scale: 2 };
    const got = mergeTensor(base, rows, cols, [l1, l2]).f16;
    const d1 = loraDelta(l1, rows, cols), d2 = loraDelta(l2, rows, cols);
    for (let i = 0; i < rows * cols; i++) {
      const s1 = f32ToF16(Math.fround(f16ToF32(base[i]) + Math.fround(d1[i] * 4)));
      const s2 = f32ToF16(Math.fround(f16ToF32(s1) + Math.fround(d2[i] * 2)));
      expect(got[i]).to.equal(s2);
    }
  });

  it("mergeTensor with fan_in_fan_out adds the transposed delta", () => {
    // base stored (in=3, out=2); delta = B (2, r) @ A (r, 3) is (2, 3) -> transposed (3, 2)
    const a = new Float32Array([1, 2, 3]), b = new Float32Array([1, -1]);
    const base = new Float32Array(6);
    const got = mergeTensor(base, 3, 2, [{ a, b, r: 1, scale: 1, fanInFanOut: true }]).f16;
    expect(Array.from(got, f16ToF32)).to.deep.equal([1, -1, 2, -2, 3, -3]);
  });

  it("mergeTensor counts changed elements and leaves zero deltas bit-identical", () => {
    const base = encodeF16(randomNormal(12, 3));
    const res = mergeTensor(base, 3, 4, [{ a: new Float32Array(8), b: new Float32Array(6), r: 2, scale: 4 }]);
    expect(Array.from(res.f16)).to.deep.equal(Array.from(base));
    expect(res.changed).to.deep.equal([0]);
  });

  it("mergeTensor rejects a delta that overflows f16 or is NaN", () => {
    const base = new Float32Array(4);
    const big = { a: new Float32Array([1e5, 1e5]), b: new Float32Array([1, 1]), r: 1, scale: 1 };
    expect(() => mergeTensor(base, 2, 2, [big], "w")).to.throw(LlamatsError, /w: LoRA 1 .*Inf/);
    const nan = { a: new Float32Array([NaN, 0]), b: new Float32Array([0, 1]), r: 1, scale: 1 };
    expect(() => mergeTensor(base, 2, 2, [nan], "w")).to.throw(LlamatsError, /NaN/);
  });

  it("mergeTensor rejects factor sizes that do not fit the weight", () => {
    expect(() => mergeTensor(new Float32Array(4), 2, 2, [{ a: new Float32Array(3), b: new Float32Array(2), r: 1, scale: 1 }])).to.throw(LlamatsError, /lora_A/);
  });
});

describe("loraDelta accumulation order", () => {
  it("equals a plain k-ordered float32 loop, bit for bit (odd shapes, ranks not a multiple of 4)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 11 }), fc.integer(), (r, out, inDim, seed) => {
        const a = randomNormal(r * inDim, seed), b = randomNormal(out * r, seed + 7);
        const ref = new Float32Array(out * inDim);
        for (let i = 0; i < out; i++) for (let k = 0; k < r; k++) for (let j = 0; j < inDim; j++) ref[i * inDim + j] += b[i * r + k] * a[k * inDim + j];
        expect(Array.from(loraDelta({ a, b, r, scale: 1 }, out, inDim))).to.deep.equal(Array.from(ref));
      }),
      { numRuns: 80 },
    );
  });
});

describe("mergeTensor inPlace", () => {
  it("updates an f16 base in place with the same result as a copy", () => {
    const base = encodeF16(randomNormal(6, 5));
    const f = { a: randomNormal(2, 6, 0.1), b: randomNormal(3, 7, 0.1), r: 1, scale: 4 };
    const copy = mergeTensor(base, 3, 2, [f]).f16;
    const same = mergeTensor(base, 3, 2, [f], "w", { inPlace: true }).f16;
    expect(same).to.equal(base);
    expect(Array.from(same)).to.deep.equal(Array.from(copy));
  });
});

describe("loraDeltaRows: WebAssembly SIMD and TypeScript agree bit for bit", () => {
  it("random shapes (inDim multiple of 4), ranks, row ranges, including NaN/Inf/subnormal inputs", async () => {
    const { loraDeltaRows } = await import("@llamats/lora");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 6 }), fc.integer(), fc.boolean(), (r, out, in4, seed, specials) => {
        const inDim = in4 * 4;
        const a = randomNormal(r * inDim, seed), b = randomNormal(out * r, seed + 3);
        if (specials) {
          a[0] = 1e-40; a[a.length - 1] = 3e38; b[0] = 3e38;
        }
        const i0 = Math.min(out - 1, Math.abs(seed) % out), i1 = out;
        const f = { a, b, r, scale: 1 };
        const js = loraDeltaRows(f, inDim, i0, i1, new Float32Array((i1 - i0) * inDim), "js");
        const wasm = loraDeltaRows(f, inDim, i0, i1, new Float32Array((i1 - i0) * inDim), "wasm");
        expect(Array.from(wasm)).to.deep.equal(Array.from(js));
      }),
      { numRuns: 100 },
    );
  });
});

describe("f32BitsToF16", () => {
  it("equals @llamats/tensor's f32ToF16 on random and edge bit patterns", async () => {
    const { f32BitsToF16 } = await import("@llamats/lora");
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    const check = (bits: number) => {
      u[0] = bits >>> 0;
      const ours = f32BitsToF16(u[0]);
      if (Number.isNaN(f[0])) {
        // JS numbers may not carry a NaN's payload (f32ToF16 gets a canonical NaN): both stay NaN
        expect(ours & 0x7c00).to.equal(0x7c00);
        expect(ours & 0x3ff).to.not.equal(0);
      } else expect(ours, bits.toString(16)).to.equal(f32ToF16(f[0]));
    };
    for (const b of [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x477fe000, 0x477ff000, 0x33000000, 0x33000001, 0x387fc000, 0x38800000, 0x3f800000]) check(b);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (b) => check(b)), { numRuns: 20000 });
    fc.assert(fc.property(fc.integer({ min: 0x33000000, max: 0x47800000 }), (b) => check(b)), { numRuns: 20000 });
  });
});

describe("loraDeltaRows on worker threads", () => {
  it("gives the same bits as the single-threaded kernel", async () => {
    const { loraDeltaRows, setLoraThreads } = await import("@llamats/lora");
    try {
      expect(setLoraThreads(3)).to.equal(3);
      for (const [r, out, inDim, seed] of [[8, 37, 64, 1], [64, 96, 172 * 4, 2], [3, 2, 8, 3]]) {
        const f = { a: randomNormal(r * inDim, seed), b: randomNormal(out * r, seed + 1), r, scale: 1 };
        const threaded = loraDeltaRows(f, inDim, 1, out, new Float32Array((out - 1) * inDim));
        const single = loraDeltaRows(f, inDim, 1, out, new Float32Array((out - 1) * inDim), "js");
        expect(Array.from(threaded)).to.deep.equal(Array.from(single));
      }
      const base = encodeF16(randomNormal(70 * 64, 9, 0.5));
      const lf = { a: randomNormal(4 * 64, 10, 0.1), b: randomNormal(70 * 4, 11, 0.1), r: 4, scale: 4 };
      const threaded = mergeTensor(base, 70, 64, [lf]).f16;
      setLoraThreads(1);
      expect(Array.from(mergeTensor(base, 70, 64, [lf]).f16)).to.deep.equal(Array.from(threaded));
    } finally {
      setLoraThreads(1);
    }
  });
});

describe("mergeTensor in WebAssembly (merge_rows) = the TypeScript sum, bit for bit", () => {
  it("random f16 weights incl. subnormals, ties and near-overflow values, random scales and row blocks (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer(), fc.double({ min: 1e-3, max: 64, noNaN: true }),
        (rows, c4, r, seed, scale) => {
          const cols = c4 * 4;
          const w = randomNormal(rows * cols, seed, 0.5);
          const base = encodeF16(w);
          // exact f16 patterns too: subnormals, the largest finite, random bits (no NaN/Inf)
          for (let i = 0; i < base.length; i += 7) base[i] = (seed * 31 + i * 977) & 0x7bff | ((i & 8) << 12);
          const mag = [1e-6, 1e-3, 0.1, 30][Math.abs(seed) % 4];
          const f = { a: randomNormal(r * cols, seed + 1, mag), b: randomNormal(rows * r, seed + 2, 1), r, scale };
          const run = (engine: "js" | "wasm") => {
            try {
              const m = mergeTensor(base, rows, cols, [f], "w", { engine });
              return { changed: m.changed, f16: Array.from(m.f16) };
            } catch (e) {
              return { error: (e as Error).message }; // an overflow: the same element and message
            }
          };
          expect(run("wasm")).to.deep.equal(run("js"));
        }),
      { numRuns: 150 },
    );
  });

  it("rounds every kind of float32 sum as the TypeScript sum: random bit patterns over all exponents (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 64 }), fc.integer(), (words, seed) => {
        const n = words.length - (words.length % 4);
        const a = new Float32Array(new Uint32Array(words.slice(0, n)).buffer);
        for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]) || Math.abs(a[i]) >= 65504) a[i] = a[i] > 0 ? 1e-7 : -3e-6; // no NaN, no overflow
        const base = encodeF16(randomNormal(n, seed, 1e-4));
        base[0] = 0; // zero + x: the sum is x itself, so its f16 rounding is what is tested
        const f = { a, b: new Float32Array([1]), r: 1, scale: 1 };
        const js = mergeTensor(base, 1, n, [f], "w", { engine: "js" });
        const wasm = mergeTensor(base, 1, n, [f], "w", { engine: "wasm" });
        expect(wasm.changed).to.deep.equal(js.changed);
        expect(Array.from(wasm.f16)).to.deep.equal(Array.from(js.f16));
      }),
      { numRuns: 400 },
    );
  });

  it("reports the same element and message as the TypeScript sum when a value overflows f16", () => {
    const base = encodeF16(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const f = { a: new Float32Array([0, 0, 1, 0]), b: new Float32Array([1, 30000]), r: 1, scale: 4 };
    const msg = (engine: "js" | "wasm") => {
      try {
        mergeTensor(base, 2, 4, [f], "w", { engine });
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    expect(msg("wasm")).to.match(/w: LoRA 1 makes element \[1, 2\] overflow f16 to Inf/);
    expect(msg("wasm")).to.equal(msg("js"));
  });
});
