// Q4_K and Q5_K: 256-weight super-blocks of eight 32-weight sub-blocks, each with a 6-bit
// scale and a 6-bit min (packed into 12 bytes, see kcommon.ts), themselves scaled by the
// f16 super-block d and dmin: x ≈ d * sc * q - dmin * m. Q4_K codes are nibbles (for each
// 64 weights: 32 bytes, low nibble = first 32, high nibble = next 32); Q5_K adds a 5th bit
// per weight in qh[32] (bit 2k for the first 32 of the k-th 64, bit 2k + 1 for the second).
// Reference quantisers reproduce quantize_row_q{4,5}_K_ref (make_qkx2_quants search).

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { fround, nearestInt, readU16, writeU16 } from "./f32.js";
import { makeQkx2Quants, packScaleMinK4, scaleMinK4 } from "./kcommon.js";
import { Q4_K, Q5_K, QK_K } from "./layouts.js";

const L = new Uint8Array(QK_K);
const laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(8);
const mins = new Float32Array(8);
const ls = new Uint8Array(8);
const lm = new Uint8Array(8);
const TENTH = fround(0.1);

/** Fill L (codes in [0, nmax]) and the block's scales for one super-block; returns nothing,
 *  writes d, dmin and the packed scales at dst[o + dOff], [o + dminOff], [o + scalesOff]. */
function quantizeSuperK(src: Float32Array, x: number, nmax: number, rmin: number, nstep: number,
  dst: Uint8Array, o: number, layout: typeof Q4_K | typeof Q5_K): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = src[x + 32 * j + l];
      sumX2 = fround(sumX2 + fround(v * v));
    }
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = fround(avX + Math.abs(src[x + 32 * j + l]));
    scales[j] = makeQkx2Quants(32, nmax, src, x + 32 * j, weights, L, 32 * j, laux, rmin, TENTH, nstep, mins, j);
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, nearestInt(fround(invScale * scales[j])) & 0xff);
    lm[j] = Math.min(63, nearestInt(fround(invMin * mins[j])) & 0xff);
  }
  packScaleMinK4(ls, lm, dst, o + layout.scales);
  writeU16(dst, o + layout.d, f32ToF16(fround(maxScale / 63)));
  writeU16(dst, o + layout.dmin, f32ToF16(fround(maxMin / 63)));
  const d = f16ToF32(readU16(dst, o + layout.d));
  const dmin = f16ToF32(readU16(dst, o + layout.dmin));
  for (let j = 0; j < 8; j++) {
    const sm = scaleMinK4(j, dst, o + layout.scales);
    const dj = fround(d * (sm & 0xff));
    if (!dj) continue; // keeps the codes of the search, as ggml does
    const dm = fround(dmin * (sm >> 8));
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fround(fround(src[x + 32 * j + ii] + dm) / dj));
      L[32 * j + ii] = Math.max(0, Math.min(nmax, l));
    }
  }
}

export function quantizeRowQ4_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = dstOff + i * Q4_K.bytes;
    quantizeSuperK(src, srcOff + i * QK_K, 15, -1, 20, dst, o, Q4_K);
    let q = o + Q4_K.qs;
    for (let j = 0; j < QK_K; j += 64) {
      for (let l = 0; l < 32; l++) dst[q + l] = L[j + l] | (L[j + l + 32] << 4);
      q += 32;
    }
  }
}

export function dequantizeRowQ4_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q4_K.bytes;
    let y = dstOff + i * QK_K;
    const d = f16ToF32(readU16(src, o + Q4_K.d));
    const min = f16ToF32(readU16(src, o + Q4_K.dmin));
    let q = o + Q4_K.qs;
    for (let is = 0; is < 8; is += 2) {
      const sm1 = scaleMinK4(is, src, o + Q4_K.scales);
      const sm2 = scaleMinK4(is + 1, src, o + Q4_K.scales);
      const d1 = fround(d * (sm1 & 0xff));
      const m1 = fround(min * (sm1 >> 8));
      const d2 = fround(d * (sm2 & 0xff));
      const m2 = fround(min * (sm2 >> 8));
      for (let l = 0; l < 32; l++) dst[y++] = fround(d1 * (src[q + l] & 0xf)) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = fround(d2 * (src[q + l] >> 4)) - m2;
      q += 32;
    }
  }
}

export function quantizeRowQ5_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = dstOff + i * Q5_K.bytes;
    quantizeSuperK(src, srcOff + i * QK_K, 31, -0.5, 15, dst, o, Q5_K);
    const qh = o + Q5_K.qh;
    let ql = o + Q5_K.qs;
    for (let j = 0; j < 32; j++) dst[qh + j] = 0;
    let m1 = 1;
    let m2 = 2;
    for (let n = 0; n < QK_K; n += 64) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          dst[qh + j] |= m1;
        }
        let l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          dst[qh + j] |= m2;
        }
        dst[ql + j] = l1 | (l2 << 4);
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
  }
}

export function dequantizeRowQ5_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q5_K.bytes;
    let y = dstOff + i * QK_K;
    const d = f16ToF32(readU16(src, o + Q5_K.d));
    const min = f16ToF32(readU16(src, o + Q5_K.dmin));
    const qh = o + Q5_K.qh;
    let ql = o + Q5_K.qs;
    let u1 = 1;
    let u2 = 2;
    for (let is = 0; is < 8; is += 2) {
      const sm1 = scaleMinK4(is, src, o + Q5_K.scales);
      const sm2 = scaleMinK4(is + 1, src, o + Q5_K.scales);
      const d1 = fround(d * (sm1 & 0xff));
      const m1 = fround(min * (sm1 >> 8));
      const d2 = fround(d * (sm2 & 0xff));
      const m2 = fround(min * (sm2 >> 8));
      for (let l = 0; l < 32; l++) dst[y++] = fround(d1 * ((src[ql + l] & 0xf) + (src[qh + l] & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = fround(d2 * ((src[ql + l] >> 4) + (src[qh + l] & u2 ? 16 : 0))) - m2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}
