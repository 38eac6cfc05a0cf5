// Q8_0 (weights and activations) and Q8_1 (activations for the Q4_1 / Q5_1 dot products):
// 32 int8 codes per block with an f16 scale d = amax / 127, q = roundf(x / d) (half away
// from zero). Q8_1 also stores s = d * sum(q) as f16, so a dot product with a min-offset
// weight type (Q4_1, Q5_1) needs no second pass. Reproduces quantize_row_q8_{0,1}_ref.

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { fround, readI8, readU16, roundHalfAway, writeU16 } from "./f32.js";
import { Q8_0, Q8_1, QK } from "./layouts.js";

/** Quantise src[srcOff .. srcOff + cols) to Q8_0 blocks at dst[dstOff..] (also the activation
 *  quantisation of the Q4_0 / Q5_0 / Q8_0 dot products). */
export function quantizeRowQ8_0(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q8_0.bytes;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q8_0.d, f32ToF16(d));
    for (let j = 0; j < QK; j++) dst[o + Q8_0.qs + j] = roundHalfAway(fround(src[x + j] * id)) & 0xff;
  }
}

export function dequantizeRowQ8_0(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q8_0.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q8_0.d));
    for (let j = 0; j < QK; j++) dst[y + j] = readI8(src, o + Q8_0.qs + j) * d;
  }
}

export function quantizeRowQ8_1(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q8_1.bytes;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q8_1.d, f32ToF16(d));
    let sum = 0;
    for (let j = 0; j < QK; j++) {
      const q = roundHalfAway(fround(src[x + j] * id));
      dst[o + Q8_1.qs + j] = q & 0xff;
      sum += (q << 24) >> 24;
    }
    writeU16(dst, o + Q8_1.s, f32ToF16(fround(sum * d)));
  }
}

export function dequantizeRowQ8_1(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q8_1.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q8_1.d));
    for (let j = 0; j < QK; j++) dst[y + j] = readI8(src, o + Q8_1.qs + j) * d;
  }
}
