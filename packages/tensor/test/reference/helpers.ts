// Shared helpers for the reference-backend property tests: float32 arrays from fast-check
// and weight matrices in each float type.
import fc from "fast-check";
import { GGMLType, type WeightMatrix, encodeBf16, encodeF16, decodeF16, decodeBf16 } from "@llamats/tensor";

/** A Float32Array of exactly n finite values in [-lim, lim]. */
export function f32Arr(n: number, lim = 4): fc.Arbitrary<Float32Array> {
  return fc.array(fc.float({ min: -lim, max: lim, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a));
}

/** Encode (rows, cols) f32 values as a weight matrix of `type`; also returns the values it really holds. */
export function makeWeight(type: GGMLType, values: Float32Array, rows: number, cols: number): { w: WeightMatrix; exact: Float32Array } {
  if (type === GGMLType.F32) {
    return { w: { type, rows, cols, bytes: new Uint8Array(values.slice().buffer) }, exact: values };
  }
  const bits = type === GGMLType.F16 ? encodeF16(values) : encodeBf16(values);
  const exact = type === GGMLType.F16 ? decodeF16(bits) : decodeBf16(bits);
  return { w: { type, rows, cols, bytes: new Uint8Array(bits.buffer) }, exact };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
