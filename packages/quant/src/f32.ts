// float32 arithmetic as C does it. JavaScript computes in float64; rounding the result of
// every single +, -, *, / or sqrt to float32 with Math.fround gives exactly the float32
// result (float64 has more than 2*24+2 bits, so the double rounding is harmless). The
// integer conversions below mirror the three ways ggml turns a float into an integer.

export const fround = Math.fround;

/** C's `(int)` / `(int8_t)` of a float on x86-64 (cvttss2si): truncation toward zero;
 *  NaN and values outside int32 give INT32_MIN ("integer indefinite"). */
export function truncToInt32C(v: number): number {
  return v > -2147483649 && v < 2147483648 ? Math.trunc(v) | 0 : -2147483648;
}

/** `(int8_t)v`: truncation toward zero, then the low 8 bits as a signed value. */
export function truncToInt8C(v: number): number {
  return (truncToInt32C(v) << 24) >> 24;
}

/** `(uint8_t)v` as gcc emits it on x86-64 (truncate to int32, keep the low 8 bits). */
export function truncToUint8C(v: number): number {
  return truncToInt32C(v) & 0xff;
}

/** C `roundf`: round half away from zero (x is a float32 value, so |x| + 0.5 is exact). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** ggml's nearest_int: adds 1.5 * 2^23 in float32 and reads the mantissa, i.e. round half
 *  to even, valid for |v| <= 4194303. */
export function nearestInt(v: number): number {
  return fround(v + 12582912) - 12582912;
}

/** Little-endian f16 bits at bytes[o]. */
export function readU16(bytes: Uint8Array, o: number): number {
  return bytes[o] | (bytes[o + 1] << 8);
}

export function writeU16(bytes: Uint8Array, o: number, v: number): void {
  bytes[o] = v & 0xff;
  bytes[o + 1] = (v >>> 8) & 0xff;
}

/** int8 at bytes[o]. */
export function readI8(bytes: Uint8Array, o: number): number {
  return (bytes[o] << 24) >> 24;
}

/** The element of largest magnitude among x[off .. off+n-1], sign kept; the first one wins a
 *  tie, NaNs are skipped, 0 when all are zero (the scale search of ggml's Q4_0, Q5_0, Q8_K
 *  and make_qx_quants / make_q3_quants; its magnitude is their amax). */
export function signedAbsMax(x: Float32Array, off: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    const av = Math.abs(v);
    if (av > amax) {
      amax = av;
      max = v;
    }
  }
  return max;
}

/** Smallest and largest of x[off .. off+n-1], as ggml's Q4_1/Q5_1 reference quantisers scan
 *  them (starting from ±FLT_MAX, strict comparisons, so NaNs are skipped). */
export function blockMinMax(x: Float32Array, off: number, n: number): { min: number; max: number } {
  let min = 3.4028234663852886e38;
  let max = -3.4028234663852886e38;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}
