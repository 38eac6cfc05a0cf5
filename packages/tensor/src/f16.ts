// IEEE 754 half precision (f16) and bfloat16 (bf16) <-> float32, exact.
// Node 20 has no Float16Array, so f16 is carried as raw uint16 bit patterns.
// Encoding rounds to nearest, ties to even, and handles subnormals, Inf and NaN
// (NaN payloads keep their top mantissa bits; a NaN never becomes Inf).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Decode table: all 65536 f16 bit patterns as float32 (256 KiB, built once). */
const f16Table: Float32Array = buildF16Table();

function decodeF16Slow(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function buildF16Table(): Float32Array {
  const t = new Float32Array(65536);
  const tBits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f && mant !== 0) {
      // NaN: keep sign and payload bits (quiet bit included) like a hardware conversion.
      tBits[h] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13);
    } else {
      t[h] = decodeF16Slow(h);
    }
  }
  return t;
}

/** f16 bits -> float32 value. */
export function f16ToF32(bits: number): number {
  return f16Table[bits & 0xffff];
}

/** float32 value (rounded to f32 first) -> f16 bits, round to nearest even. */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00; // Inf
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload); // NaN stays NaN
  }
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    // Subnormal f16 (or zero). Shift the full 24-bit significand into place.
    if (e < -10) return sign; // below half the smallest subnormal -> signed zero
    mant |= 0x800000;
    const shift = 14 - e; // 24-bit significand -> 10-bit subnormal mantissa
    const halfway = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > halfway || (rest === halfway && (h & 1))) h++;
    return sign | h; // a carry into the exponent field is the correct result
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into exponent / Inf: correct
  return sign | h;
}

/** bf16 bits -> float32 value (bf16 is the top half of a float32). */
export function bf16ToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

/** float32 value -> bf16 bits, round to nearest even; NaN stays NaN (quiet). */
export function f32ToBf16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Bulk decode: dst[i] = f16ToF32(src[i]). */
export function decodeF16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = f16Table[src[i]];
  return dst;
}

/** Bulk encode: dst[i] = f32ToF16(src[i]). */
export function encodeF16(src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = f32ToF16(src[i]);
  return dst;
}

/** Bulk decode: dst[i] = bf16ToF32(src[i]). */
export function decodeBf16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const dstBits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  const n = src.length;
  for (let i = 0; i < n; i++) dstBits[i] = src[i] << 16;
  return dst;
}

/** Bulk encode: dst[i] = f32ToBf16(src[i]). */
export function encodeBf16(src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = f32ToBf16(src[i]);
  return dst;
}

/** The decode table itself, for kernels that want to index it directly. */
export function f16DecodeTable(): Float32Array {
  return f16Table;
}
