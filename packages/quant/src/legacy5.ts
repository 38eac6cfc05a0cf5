// Q5_0 and Q5_1: 32 weights per block as 5-bit codes: the low 4 bits packed as nibbles
// like Q4 (qs[j] = lo(q[j]) | lo(q[j + 16]) << 4), the 5th bits in a little-endian u32 qh
// (bit j = bit 4 of q[j], bit j + 16 = bit 4 of q[j + 16]). Reference quantisers reproduce
// quantize_row_q5_{0,1}_ref byte for byte; note Q5_1 has no clamp, `(uint8_t)` only.

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { blockMinMax, fround, readU16, signedAbsMax, truncToInt8C, truncToUint8C, writeU16 } from "./f32.js";
import { Q5_0, Q5_1, QK } from "./layouts.js";

function writeU32(bytes: Uint8Array, o: number, v: number): void {
  bytes[o] = v & 0xff;
  bytes[o + 1] = (v >>> 8) & 0xff;
  bytes[o + 2] = (v >>> 16) & 0xff;
  bytes[o + 3] = (v >>> 24) & 0xff;
}

function readU32(bytes: Uint8Array, o: number): number {
  return (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)) >>> 0;
}

export function quantizeRowQ5_0(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q5_0.bytes;
    const max = signedAbsMax(src, x, QK);
    const d = fround(max / -16);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q5_0.d, f32ToF16(d));
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fround(src[x + j] * id);
      const x1 = fround(src[x + QK / 2 + j] * id);
      const q0 = Math.min(31, truncToInt8C(fround(x0 + 16.5))) & 0xff;
      const q1 = Math.min(31, truncToInt8C(fround(x1 + 16.5))) & 0xff;
      dst[o + Q5_0.qs + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
    }
    writeU32(dst, o + Q5_0.qh, qh);
  }
}

export function dequantizeRowQ5_0(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q5_0.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q5_0.d));
    const qh = readU32(src, o + Q5_0.qh);
    for (let j = 0; j < QK / 2; j++) {
      const b = src[o + Q5_0.qs + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = (((b & 0x0f) | h0) - 16) * d;
      dst[y + j + QK / 2] = (((b >> 4) | h1) - 16) * d;
    }
  }
}

export function quantizeRowQ5_1(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK;
    const o = dstOff + i * Q5_1.bytes;
    const { min, max } = blockMinMax(src, x, QK);
    const d = fround(fround(max - min) / 31);
    const id = d ? fround(1 / d) : 0;
    writeU16(dst, o + Q5_1.d, f32ToF16(d));
    writeU16(dst, o + Q5_1.m, f32ToF16(min));
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const x0 = fround(fround(src[x + j] - min) * id);
      const x1 = fround(fround(src[x + QK / 2 + j] - min) * id);
      const q0 = truncToUint8C(fround(x0 + 0.5));
      const q1 = truncToUint8C(fround(x1 + 0.5));
      dst[o + Q5_1.qs + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + QK / 2);
    }
    writeU32(dst, o + Q5_1.qh, qh);
  }
}

export function dequantizeRowQ5_1(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q5_1.bytes;
    const y = dstOff + i * QK;
    const d = f16ToF32(readU16(src, o + Q5_1.d));
    const m = f16ToF32(readU16(src, o + Q5_1.m));
    const qh = readU32(src, o + Q5_1.qh);
    for (let j = 0; j < QK / 2; j++) {
      const b = src[o + Q5_1.qs + j];
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      dst[y + j] = fround(((b & 0x0f) | h0) * d) + m;
      dst[y + j + QK / 2] = fround(((b >> 4) | h1) * d) + m;
    }
  }
}
