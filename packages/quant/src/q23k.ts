// Q2_K and Q3_K: dequantisation only (llamats reads files that hold them; it does not write
// them). Q2_K: 16 sub-blocks of 16 weights, 4-bit scale and min per sub-block (scales[j]:
// low nibble scale, high nibble min), 2-bit codes; x = d * sc * q - dmin * m. Q3_K: 16
// sub-blocks, 6-bit signed scales (offset 32) packed in 12 bytes, 2 low bits in qs and the
// 3rd bit in hmask (set = +0, clear = -4): x = d * (sc - 32) * (q - 4 * !h).

import { f16ToF32 } from "@llamats/tensor";
import { fround, readU16 } from "./f32.js";
import { Q2_K, Q3_K, QK_K } from "./layouts.js";

export function dequantizeRowQ2_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q2_K.bytes;
    let y = dstOff + i * QK_K;
    const d = f16ToF32(readU16(src, o + Q2_K.d));
    const min = f16ToF32(readU16(src, o + Q2_K.dmin));
    let q = o + Q2_K.qs;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 2; half++) {
          const sc = src[o + Q2_K.scales + is++];
          const dl = fround(d * (sc & 0xf));
          const ml = fround(min * (sc >> 4));
          for (let l = 0; l < 16; l++) dst[y++] = fround(dl * ((src[q + 16 * half + l] >> shift) & 3)) - ml;
        }
      }
      q += 32;
    }
  }
}

const scales3 = new Int8Array(16);

/** The 16 signed 6-bit scales of a Q3_K block (already minus 32). */
function unpackScalesQ3_K(src: Uint8Array, o: number): void {
  for (let j = 0; j < 16; j++) {
    const lo = j < 8 ? src[o + j] & 0xf : src[o + j - 8] >> 4;
    const hi = (src[o + 8 + (j % 4)] >> (2 * Math.floor(j / 4))) & 3;
    scales3[j] = (lo | (hi << 4)) - 32;
  }
}

export function dequantizeRowQ3_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q3_K.bytes;
    let y = dstOff + i * QK_K;
    const dAll = f16ToF32(readU16(src, o + Q3_K.d));
    unpackScalesQ3_K(src, o + Q3_K.scales);
    let q = o + Q3_K.qs;
    const hm = o + Q3_K.hmask;
    let m = 1;
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 2; half++) {
          const dl = fround(dAll * scales3[is++]);
          for (let l = 0; l < 16; l++) {
            const k = 16 * half + l;
            dst[y++] = dl * (((src[q + k] >> shift) & 3) - (src[hm + k] & m ? 0 : 4));
          }
        }
        m <<= 1;
      }
      q += 32;
    }
  }
}
