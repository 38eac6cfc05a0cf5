// Q6_K: 256-weight super-blocks of sixteen 16-weight sub-blocks with int8 scales and an f16
// super-block d: x ≈ d * scale[j] * (q - 32), q a 6-bit code. Per 128 weights: ql[64] holds
// the low nibbles (byte l: weight l | weight l + 64 << 4; byte l + 32: weights l + 32, l + 96)
// and qh[32] the top 2 bits (byte l: weights l, l + 32, l + 64, l + 96 at bits 0, 2, 4, 6).
// llama.cpp stores `output.weight` as Q6_K in its Q4 / Q5 files. The reference quantiser
// reproduces quantize_row_q6_K_ref (make_qx_quants per sub-block).

import { f16ToF32, f32ToF16 } from "@llamats/tensor";
import { fround, nearestInt, readI8, readU16, writeU16 } from "./f32.js";
import { makeQxQuants } from "./kcommon.js";
import { Q6_K, QK_K } from "./layouts.js";

const GROUP_MAX_EPS = fround(1e-15);
const L = new Uint8Array(QK_K);
const scales = new Float32Array(16);

export function quantizeRowQ6_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK_K;
    const o = dstOff + i * Q6_K.bytes;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      const absScale = Math.abs(scale);
      if (absScale > maxAbsScale) {
        maxAbsScale = absScale;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + Q6_K.bytes);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    writeU16(dst, o + Q6_K.d, f32ToF16(fround(1 / iscale)));
    for (let ib = 0; ib < 16; ib++) {
      dst[o + Q6_K.scales + ib] = Math.min(127, nearestInt(fround(iscale * scales[ib]))) & 0xff;
    }
    const dAll = f16ToF32(readU16(dst, o + Q6_K.d));
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * readI8(dst, o + Q6_K.scales + j));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround(src[x + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    let ql = o + Q6_K.ql;
    let qh = o + Q6_K.qh;
    for (let j = 0; j < QK_K; j += 128) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] & 0xf;
        const q2 = L[j + l + 32] & 0xf;
        const q3 = L[j + l + 64] & 0xf;
        const q4 = L[j + l + 96] & 0xf;
        dst[ql + l] = q1 | (q3 << 4);
        dst[ql + l + 32] = q2 | (q4 << 4);
        dst[qh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
      ql += 64;
      qh += 32;
    }
  }
}

export function dequantizeRowQ6_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q6_K.bytes;
    let y = dstOff + i * QK_K;
    const d = f16ToF32(readU16(src, o + Q6_K.d));
    let ql = o + Q6_K.ql;
    let qh = o + Q6_K.qh;
    let sc = o + Q6_K.scales;
    for (let n = 0; n < QK_K; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = fround(d * readI8(src, sc + is)) * q1;
        dst[y + l + 32] = fround(d * readI8(src, sc + is + 2)) * q2;
        dst[y + l + 64] = fround(d * readI8(src, sc + is + 4)) * q3;
        dst[y + l + 96] = fround(d * readI8(src, sc + is + 6)) * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}
