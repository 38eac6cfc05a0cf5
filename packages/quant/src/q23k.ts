// Q2_K and Q3_K, with reference quantisers reproducing quantize_row_q{2,3}_K_ref (llamats
// writes them only on request: `llamats quantize` has no q2_k / q3_k ftype). Q2_K: 16 sub-blocks of 16 weights, 4-bit scale and min per sub-block (scales[j]:
// low nibble scale, high nibble min), 2-bit codes; x = d * sc * q - dmin * m. Q3_K: 16
// sub-blocks, 6-bit signed scales (offset 32) packed in 12 bytes, 2 low bits in qs and the
// 3rd bit in hmask (set = +0, clear = -4): x = d * (sc - 32) * (q - 4 * !h).

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { fround, nearestInt, readU16, writeU16 } from "./f32.js";
import { makeQ3Quants, makeQkx2Quants } from "./kcommon.js";
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

const L2 = new Uint8Array(QK_K);
const laux2 = new Uint8Array(16);
const weights2 = new Float32Array(16);
const scales2 = new Float32Array(16);
const mins2 = new Float32Array(16);
const Q4SCALE = 15;
const TENTH = fround(0.1);

/** Reproduces quantize_row_q2_K_ref (make_qkx2_quants with the absolute-error metric). */
export function quantizeRowQ2_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK_K;
    const o = dstOff + i * Q2_K.bytes;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights2[l] = Math.abs(src[x + 16 * j + l]);
      scales2[j] = makeQkx2Quants(16, 3, src, x + 16 * j, weights2, L2, 16 * j, laux2, -0.5, TENTH, 15, mins2, j, true);
      if (scales2[j] > maxScale) maxScale = scales2[j];
      if (mins2[j] > maxMin) maxMin = mins2[j];
    }
    if (maxScale > 0) {
      const iscale = fround(Q4SCALE / maxScale);
      for (let j = 0; j < 16; j++) dst[o + Q2_K.scales + j] = nearestInt(fround(iscale * scales2[j])) & 0xff;
      writeU16(dst, o + Q2_K.d, f32ToF16(fround(maxScale / Q4SCALE)));
    } else {
      for (let j = 0; j < 16; j++) dst[o + Q2_K.scales + j] = 0;
      writeU16(dst, o + Q2_K.d, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(Q4SCALE / maxMin);
      for (let j = 0; j < 16; j++) dst[o + Q2_K.scales + j] |= (nearestInt(fround(iscale * mins2[j])) << 4) & 0xff;
      writeU16(dst, o + Q2_K.dmin, f32ToF16(fround(maxMin / Q4SCALE)));
    } else {
      writeU16(dst, o + Q2_K.dmin, 0);
    }
    const d = f16ToF32(readU16(dst, o + Q2_K.d));
    const dmin = f16ToF32(readU16(dst, o + Q2_K.dmin));
    for (let j = 0; j < 16; j++) {
      const sc = dst[o + Q2_K.scales + j];
      const dj = fround(d * (sc & 0xf));
      if (!dj) continue;
      const dm = fround(dmin * (sc >> 4));
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(fround(src[x + 16 * j + ii] + dm) / dj));
        L2[16 * j + ii] = Math.max(0, Math.min(3, l));
      }
    }
    packCodes2(L2, dst, o + Q2_K.qs);
  }
}

/** 2-bit codes: per 128 weights, byte l holds weights l, l + 32, l + 64, l + 96. */
function packCodes2(L: ArrayLike<number>, dst: Uint8Array, q: number): void {
  for (let j = 0; j < QK_K; j += 128) {
    for (let l = 0; l < 32; l++) {
      dst[q + j / 4 + l] = (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)) & 0xff;
    }
  }
}

const L3 = new Int8Array(QK_K);
const scales3f = new Float32Array(16);

/** Reproduces quantize_row_q3_K_ref (make_q3_quants with refinement). */
export function quantizeRowQ3_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK_K;
    const o = dstOff + i * Q3_K.bytes;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      scales3f[j] = makeQ3Quants(16, 4, src, x + 16 * j, L3, 16 * j);
      const scale = Math.abs(scales3f[j]);
      if (scale > amax) {
        amax = scale;
        maxScale = scales3f[j];
      }
    }
    const so = o + Q3_K.scales;
    dst.fill(0, so, so + 12);
    if (maxScale) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        let l = (nearestInt(fround(iscale * scales3f[j])) << 24) >> 24;
        l = Math.max(-32, Math.min(31, l)) + 32;
        if (j < 8) dst[so + j] = l & 0xf;
        else dst[so + j - 8] |= (l & 0xf) << 4;
        l >>= 4;
        dst[so + (j % 4) + 8] |= l << (2 * Math.floor(j / 4));
      }
      writeU16(dst, o + Q3_K.d, f32ToF16(fround(1 / iscale)));
    } else {
      writeU16(dst, o + Q3_K.d, 0);
    }
    const dAll = f16ToF32(readU16(dst, o + Q3_K.d));
    unpackScalesQ3_K(dst, so);
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * scales3[j]);
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii] / d));
        L3[16 * j + ii] = Math.max(-4, Math.min(3, l)) + 4;
      }
    }
    const hm = o + Q3_K.hmask;
    dst.fill(0, hm, hm + 32);
    let m = 0;
    let bit = 1;
    for (let j = 0; j < QK_K; j++) {
      if (L3[j] > 3) {
        dst[hm + m] |= bit;
        L3[j] -= 4;
      }
      if (++m === 32) {
        m = 0;
        bit <<= 1;
      }
    }
    packCodes2(L3, dst, o + Q3_K.qs);
  }
}
