// A second, deliberately plain re-derivation of ggml's legacy formulas: every float32 step
// goes through a Float32Array slot (no Math.fround), integer conversions are spelled out.
// fast-check feeds random rows to both and the bytes must agree.
import { expect } from "chai";
import fc from "fast-check";
import { GGMLType, f32ToF16 } from "@llamats/tensor";
import { quantizeRows } from "@llamats/quant";

const f = new Float32Array(1);
const r32 = (v: number): number => ((f[0] = v), f[0]);
const toInt8 = (v: number): number => {
  const t = Number.isFinite(v) && Math.abs(v) < 2 ** 31 ? Math.trunc(v) : -(2 ** 31);
  return ((t % 256) + 256 + 128) % 256 - 128;
};
const cRoundf = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);

function naive(type: GGMLType, x: Float32Array): Uint8Array {
  const out: number[] = [];
  const pushF16 = (v: number): void => {
    const h = f32ToF16(v);
    out.push(h & 255, h >> 8);
  };
  for (let b = 0; b < x.length / 32; b++) {
    const v = Array.from(x.subarray(32 * b, 32 * b + 32));
    let amax = 0, max = 0, mn = Infinity, mx = -Infinity;
    for (const e of v) {
      if (Math.abs(e) > amax) { amax = Math.abs(e); max = e; }
      mn = Math.min(mn, e);
      mx = Math.max(mx, e);
    }
    if (type === GGMLType.Q8_0) {
      const d = r32(amax / 127), id = d !== 0 ? r32(1 / d) : 0;
      pushF16(d);
      for (const e of v) out.push(cRoundf(r32(e * id)) & 255);
      continue;
    }
    const nib = (q: number[]): number[] => Array.from({ length: 16 }, (_, j) => (q[j] & 15) | ((q[j + 16] & 15) << 4));
    const highBits = (q: number[]): number[] => {
      let qh = 0;
      for (let j = 0; j < 32; j++) if (q[j] & 16) qh += 2 ** j;
      return [qh & 255, (qh >>> 8) & 255, (qh >>> 16) & 255, (qh >>> 24) & 255];
    };
    if (type === GGMLType.Q4_0 || type === GGMLType.Q5_0) {
      const half = type === GGMLType.Q4_0 ? 8 : 16;
      const d = r32(max / -half), id = d !== 0 ? r32(1 / d) : 0;
      const q = v.map((e) => Math.min(2 * half - 1, toInt8(r32(r32(e * id) + half + 0.5))) & 255);
      pushF16(d);
      if (type === GGMLType.Q5_0) out.push(...highBits(q));
      out.push(...nib(q));
    } else {
      const levels = type === GGMLType.Q4_1 ? 15 : 31;
      const d = r32(r32(mx - mn) / levels), id = d !== 0 ? r32(1 / d) : 0;
      const q = v.map((e) => {
        const t = r32(r32(r32(e - mn) * id) + 0.5);
        return type === GGMLType.Q4_1 ? Math.min(15, toInt8(t)) & 255 : toInt8(t) & 255; // Q5_1: (uint8_t), no clamp
      });
      pushF16(d);
      pushF16(mn);
      if (type === GGMLType.Q5_1) out.push(...highBits(q));
      out.push(...nib(q));
    }
  }
  return Uint8Array.from(out);
}

describe("quant: reference quantisers equal a naive float32 re-derivation", () => {
  const values = fc.oneof(
    fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -16, max: 16 }).map((i) => i / 4), // exact grid points: halfway cases
  );
  const row = fc.array(values, { minLength: 64, maxLength: 64 });
  for (const [name, type] of [["q4_0", GGMLType.Q4_0], ["q4_1", GGMLType.Q4_1], ["q5_0", GGMLType.Q5_0],
    ["q5_1", GGMLType.Q5_1], ["q8_0", GGMLType.Q8_0]] as const) {
    it(name, () => {
      fc.assert(fc.property(row, (vals) => {
        const x = Float32Array.from(vals);
        const ours = Buffer.from(quantizeRows(type, x, 2, 32)).toString("hex");
        expect(ours).to.equal(Buffer.from(naive(type, x)).toString("hex"));
      }), { numRuns: 200 });
    });
  }
});
