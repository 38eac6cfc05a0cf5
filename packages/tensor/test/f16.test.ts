import { expect } from "chai";
import fc from "fast-check";
import { f16ToF32, f32ToF16, bf16ToF32, f32ToBf16, decodeF16, encodeF16 } from "@llamats/tensor";

// An independent f16 rounding oracle in float64: the nearest f16 value, ties to even mantissa.
function nearestF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 = halfway between max f16 and 2^16
  // enumerate candidates by binary search over positive finite f16 bit patterns (monotone)
  let lo = 0, hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f16ToF32(mid) <= a) lo = mid; else hi = mid - 1;
  }
  const below = lo, above = Math.min(lo + 1, 0x7c00);
  const dBelow = a - f16ToF32(below);
  const dAbove = above === 0x7c00 ? Infinity : f16ToF32(above) - a;
  let h: number;
  if (dBelow < dAbove) h = below;
  else if (dAbove < dBelow) h = above;
  else h = (below & 1) === 0 ? below : above;
  return sign | h;
}

describe("tensor/f16", () => {
  it("round-trips every one of the 65536 f16 bit patterns", () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const back = f32ToF16(v);
      if (Number.isNaN(v)) {
        // NaN stays NaN with its sign (the engine may quiet a signalling NaN, as hardware does)
        expect((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0, `NaN ${h.toString(16)}`).to.equal(true);
        expect(back & 0x8000).to.equal(h & 0x8000);
      } else {
        expect(back, `bits 0x${h.toString(16)}`).to.equal(h);
      }
    }
  });

  it("decodes known values exactly", () => {
    expect(f16ToF32(0x3c00)).to.equal(1);
    expect(f16ToF32(0xc000)).to.equal(-2);
    expect(f16ToF32(0x7bff)).to.equal(65504);
    expect(f16ToF32(0x0001)).to.equal(2 ** -24);
    expect(f16ToF32(0x03ff)).to.equal(1023 * 2 ** -24);
    expect(f16ToF32(0x7c00)).to.equal(Infinity);
    expect(Object.is(f16ToF32(0x8000), -0)).to.equal(true);
  });

  it("rounds float32 to nearest even (property, against a float64 oracle)", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(f32ToF16(x)).to.equal(nearestF16Bits(Math.fround(x)));
      }),
      { numRuns: 5000 },
    );
  });

  it("rounds ties to even, including into subnormals and overflow", () => {
    expect(f32ToF16(1 + 2 ** -11)).to.equal(0x3c00); // tie, even stays
    expect(f32ToF16(1 + 3 * 2 ** -11)).to.equal(0x3c02); // tie, odd rounds up
    expect(f32ToF16(2 ** -25)).to.equal(0); // half the smallest subnormal: tie to 0
    expect(f32ToF16(3 * 2 ** -25)).to.equal(2); // 1.5 ulp: tie to even (2)
    expect(f32ToF16(65519)).to.equal(0x7bff);
    expect(f32ToF16(65520)).to.equal(0x7c00);
    expect(f32ToF16(-Infinity)).to.equal(0xfc00);
  });

  it("bulk codecs agree with the scalar ones", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { maxLength: 64 }), (xs) => {
        const enc = encodeF16(xs);
        const dec = decodeF16(enc);
        xs.forEach((x, i) => {
          expect(enc[i]).to.equal(f32ToF16(x));
          expect(dec[i]).to.equal(f16ToF32(enc[i]));
        });
      }),
    );
  });
});

describe("tensor/bf16", () => {
  it("round-trips every one of the 65536 bf16 bit patterns", () => {
    for (let h = 0; h < 65536; h++) {
      const v = bf16ToF32(h);
      const back = f32ToBf16(v);
      if (Number.isNaN(v)) expect(Number.isNaN(bf16ToF32(back))).to.equal(true);
      else expect(back, `bits 0x${h.toString(16)}`).to.equal(h);
    }
  });

  it("rounds to nearest even", () => {
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    u[0] = 0x3f808000; // exactly halfway between bf16 0x3f80 and 0x3f81: even -> 0x3f80
    expect(f32ToBf16(f[0])).to.equal(0x3f80);
    u[0] = 0x3f818000; // halfway between 0x3f81 and 0x3f82: even -> 0x3f82
    expect(f32ToBf16(f[0])).to.equal(0x3f82);
    u[0] = 0x3f808001;
    expect(f32ToBf16(f[0])).to.equal(0x3f81);
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).to.equal(true);
  });
});
