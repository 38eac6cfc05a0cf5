// Q4_0 and Q4_1: 32 weights per block as 4-bit codes. Reference quantisers reproduce
// ggml's quantize_row_q4_{0,1}_ref byte for byte (float32 at every step, `(int8_t)`
// truncation of x*id + 8.5 / + 0.5, scale stored as f16 round-to-nearest-even).
// Nibble packing: qs[j] = q[j] | q[j + 16] << 4 — element j pairs with j + 16, not j + 1.

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { blockMinMax, fround, readU16, signedAbsMax, truncToInt8C, writeU16 } from "./f32.js";
import { Q4_0, Q4_1, QK } from "./layouts.js";

/** Quantise `cols` floats (a multiple of 32) from src[srcOff..] into Q4_0 blocks at dst[dstOff..]. */
export function quantizeRowQ4_0(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q4_0.bytes;
    const max = signedAbsMax(src, x, QK);
    const d = fround(max / -8);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q4_0.d, f32ToF16(d));
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fround(src[x + j] * id);
      const x1 = fround(src[x + QK / 2 + j] * id);
      const q0 = Math.min(15, truncToInt8C(fround(x0 + 8.5)));
      const q1 = Math.min(15, truncToInt8C(fround(x1 + 8.5)));
      dst[o + Q4_0.qs + j] = (q0 & 0xff) | ((q1 << 4) & 0xff);
    }
  }
}

export function dequantizeRowQ4_0(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q4_0.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q4_0.d));
    for (let j = 0; j < QK / 2; j++) {
      const b = src[o + Q4_0.qs + j];
      dst[y + j] = ((b & 0x0f) - 8) * d;
      dst[y + j + QK / 2] = ((b >> 4) - 8) * d;
    }
  }
}

export function quantizeRowQ4_1(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q4_1.bytes;
    const { min, max } = blockMinMax(src, x, QK);
    const d = fround(fround(max - min) / 15);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q4_1.d, f32ToF16(d));
    writeU16(dst, o + Q4_1.m, f32ToF16(min));
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fround(fround(src[x + j] - min) * id);
      const x1 = fround(fround(src[x + QK / 2 + j] - min) * id);
      const q0 = Math.min(15, truncToInt8C(fround(x0 + 0.5)));
      const q1 = Math.min(15, truncToInt8C(fround(x1 + 0.5)));
      dst[o + Q4_1.qs + j] = (q0 & 0xff) | ((q1 << 4) & 0xff);
    }
  }
}

export function dequantizeRowQ4_1(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q4_1.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q4_1.d));
    const m = f16ToF32(readU16(src, o + Q4_1.m));
    for (let j = 0; j < QK / 2; j++) {
      const b = src[o + Q4_1.qs + j];
      dst[y + j] = fround((b & 0x0f) * d) + m;
      dst[y + j + QK / 2] = fround((b >> 4) * d) + m;
    }
  }
}
