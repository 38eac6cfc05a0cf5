// Integer dot products of K-quant weight rows with activations quantised to Q8_K (float32
// d, int8 codes, int16 sums of 16 codes). For Q4_K / Q5_K the min term is
// dmin * da * Σ_j m_j * (bsums of sub-block j), so codes are multiplied unsigned; Q6_K and
// Q3_K multiply signed codes; Q2_K mixes both. Offsets are bytes; nBlocks super-blocks.

import { f16DecodeTable } from "@llamats/tensor";
import { scaleMinK4 } from "./kcommon.js";
import { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K } from "./layouts.js";
import { int8 } from "./dot-legacy.js";

const f16 = f16DecodeTable();
const f32Scratch = new Float32Array(1);
const u8Scratch = new Uint8Array(f32Scratch.buffer);

function readF32(a: Uint8Array, o: number): number {
  u8Scratch[0] = a[o];
  u8Scratch[1] = a[o + 1];
  u8Scratch[2] = a[o + 2];
  u8Scratch[3] = a[o + 3];
  return f32Scratch[0];
}

function bsum(a: Uint8Array, ao: number, j: number): number {
  const o = ao + Q8_K.bsums + 2 * j;
  return ((a[o] | (a[o + 1] << 8)) << 16) >> 16;
}

export function dotQ4_KQ8_K(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q4_K.bytes;
    const ao = aOff + b * Q8_K.bytes;
    const da = readF32(a, ao);
    let sumi = 0;
    let sumMins = 0;
    let q = wo + Q4_K.qs;
    let y = ao + Q8_K.qs;
    for (let j = 0; j < 8; j += 2) {
      const sm1 = scaleMinK4(j, w, wo + Q4_K.scales);
      const sm2 = scaleMinK4(j + 1, w, wo + Q4_K.scales);
      let s1 = 0;
      let s2 = 0;
      for (let l = 0; l < 32; l++) {
        s1 += (w[q + l] & 0xf) * a8[y + l];
        s2 += (w[q + l] >> 4) * a8[y + l + 32];
      }
      sumi += (sm1 & 0xff) * s1 + (sm2 & 0xff) * s2;
      sumMins += (sm1 >> 8) * (bsum(a, ao, 2 * j) + bsum(a, ao, 2 * j + 1))
        + (sm2 >> 8) * (bsum(a, ao, 2 * j + 2) + bsum(a, ao, 2 * j + 3));
      q += 32;
      y += 64;
    }
    sum += f16[w[wo] | (w[wo + 1] << 8)] * da * sumi - f16[w[wo + 2] | (w[wo + 3] << 8)] * da * sumMins;
  }
  return Math.fround(sum);
}

export function dotQ5_KQ8_K(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q5_K.bytes;
    const ao = aOff + b * Q8_K.bytes;
    const da = readF32(a, ao);
    const qh = wo + Q5_K.qh;
    let sumi = 0;
    let sumMins = 0;
    let q = wo + Q5_K.qs;
    let y = ao + Q8_K.qs;
    for (let j = 0; j < 8; j += 2) {
      const sm1 = scaleMinK4(j, w, wo + Q5_K.scales);
      const sm2 = scaleMinK4(j + 1, w, wo + Q5_K.scales);
      let s1 = 0;
      let s2 = 0;
      for (let l = 0; l < 32; l++) {
        const h = w[qh + l];
        s1 += ((w[q + l] & 0xf) | (((h >> j) & 1) << 4)) * a8[y + l]; // 5th bit of sub-block j: bit j
        s2 += ((w[q + l] >> 4) | (((h >> (j + 1)) & 1) << 4)) * a8[y + l + 32];
      }
      sumi += (sm1 & 0xff) * s1 + (sm2 & 0xff) * s2;
      sumMins += (sm1 >> 8) * (bsum(a, ao, 2 * j) + bsum(a, ao, 2 * j + 1))
        + (sm2 >> 8) * (bsum(a, ao, 2 * j + 2) + bsum(a, ao, 2 * j + 3));
      q += 32;
      y += 64;
    }
    sum += f16[w[wo] | (w[wo + 1] << 8)] * da * sumi - f16[w[wo + 2] | (w[wo + 3] << 8)] * da * sumMins;
  }
  return Math.fround(sum);
}

export function dotQ6_KQ8_K(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q6_K.bytes;
    const ao = aOff + b * Q8_K.bytes;
    let ql = wo + Q6_K.ql;
    let qh = wo + Q6_K.qh;
    let sc = wo + Q6_K.scales;
    let y = ao + Q8_K.qs;
    let sumi = 0;
    for (let n = 0; n < 256; n += 128) {
      // Sub-block sums: 8 sub-blocks of 16 per 128 weights, scales sc[0..8).
      for (let half = 0; half < 2; half++) {
        let s1 = 0, s2 = 0, s3 = 0, s4 = 0;
        for (let k = 0; k < 16; k++) {
          const l = 16 * half + k;
          const h = w[qh + l];
          const q1 = ((w[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
          const q2 = ((w[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((w[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((w[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
          s1 += q1 * a8[y + l];
          s2 += q2 * a8[y + l + 32];
          s3 += q3 * a8[y + l + 64];
          s4 += q4 * a8[y + l + 96];
        }
        sumi += ((w[sc + half] << 24) >> 24) * s1 + ((w[sc + half + 2] << 24) >> 24) * s2
          + ((w[sc + half + 4] << 24) >> 24) * s3 + ((w[sc + half + 6] << 24) >> 24) * s4;
      }
      ql += 64;
      qh += 32;
      sc += 8;
      y += 128;
    }
    sum += f16[w[wo + Q6_K.d] | (w[wo + Q6_K.d + 1] << 8)] * readF32(a, ao) * sumi;
  }
  return Math.fround(sum);
}

export function dotQ2_KQ8_K(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q2_K.bytes;
    const ao = aOff + b * Q8_K.bytes;
    let sumMins = 0;
    for (let j = 0; j < 16; j++) sumMins += (w[wo + Q2_K.scales + j] >> 4) * bsum(a, ao, j);
    let sumi = 0;
    let q = wo + Q2_K.qs;
    let y = ao + Q8_K.qs;
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 2; half++) {
          let s = 0;
          for (let l = 0; l < 16; l++) s += ((w[q + 16 * half + l] >> shift) & 3) * a8[y + l];
          sumi += (w[wo + Q2_K.scales + is++] & 0xf) * s;
          y += 16;
        }
      }
      q += 32;
    }
    const da = readF32(a, ao);
    sum += f16[w[wo + Q2_K.d] | (w[wo + Q2_K.d + 1] << 8)] * da * sumi - f16[w[wo + Q2_K.dmin] | (w[wo + Q2_K.dmin + 1] << 8)] * da * sumMins;
  }
  return Math.fround(sum);
}

export function dotQ3_KQ8_K(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q3_K.bytes;
    const ao = aOff + b * Q8_K.bytes;
    const so = wo + Q3_K.scales;
    const hm = wo + Q3_K.hmask;
    let q = wo + Q3_K.qs;
    let y = ao + Q8_K.qs;
    let m = 1;
    let is = 0;
    let sumi = 0;
    for (let n = 0; n < 256; n += 128) {
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 2; half++) {
          const lo = is < 8 ? w[so + is] & 0xf : w[so + is - 8] >> 4;
          const hi = (w[so + 8 + (is % 4)] >> (2 * (is >> 2))) & 3;
          const scale = (lo | (hi << 4)) - 32;
          let s = 0;
          for (let l = 0; l < 16; l++) {
            const k = 16 * half + l;
            s += (((w[q + k] >> shift) & 3) - (w[hm + k] & m ? 0 : 4)) * a8[y + l];
          }
          sumi += scale * s;
          is++;
          y += 16;
        }
        m <<= 1;
      }
      q += 32;
    }
    sum += f16[w[wo + Q3_K.d] | (w[wo + Q3_K.d + 1] << 8)] * readF32(a, ao) * sumi;
  }
  return Math.fround(sum);
}
