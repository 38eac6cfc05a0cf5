// Integer dot products of one weight row (legacy 32-weight blocks) with one activation row
// quantised as ggml does for these types: Q8_0 for Q4_0 / Q5_0 / Q8_0 weights, Q8_1 for
// Q4_1 / Q5_1 (whose s = d * sum(q) carries the min term). Within a block the products
// are summed exactly in integers; blocks are combined as sumi * dw * da (+ mw * sa).
// `w` and `a` hold ggml blocks; wOff / aOff are byte offsets; nBlocks blocks of 32.

import { f16DecodeTable } from "@llamats/tensor";
import { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 } from "./layouts.js";

const f16 = f16DecodeTable();

// Signed views of the activation bytes, cached for the last buffer seen: a matmul calls the
// dot once per weight row with the same activation row, so the view is built once.
let lastBytes: Uint8Array | undefined;
let lastInt8: Int8Array = new Int8Array(0);
export function int8(a: Uint8Array): Int8Array {
  if (a !== lastBytes) {
    lastBytes = a;
    lastInt8 = new Int8Array(a.buffer, a.byteOffset, a.length);
  }
  return lastInt8;
}

export function dotQ4_0Q8_0(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q4_0.bytes;
    const ao = aOff + b * Q8_0.bytes;
    const qs = wo + Q4_0.qs;
    const ys = ao + Q8_0.qs;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[qs + j];
      sumi += ((q & 0x0f) - 8) * a8[ys + j] + ((q >> 4) - 8) * a8[ys + j + 16];
    }
    sum += sumi * f16[w[wo] | (w[wo + 1] << 8)] * f16[a[ao] | (a[ao + 1] << 8)];
  }
  return Math.fround(sum);
}

export function dotQ4_1Q8_1(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q4_1.bytes;
    const ao = aOff + b * Q8_1.bytes;
    const qs = wo + Q4_1.qs;
    const ys = ao + Q8_1.qs;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[qs + j];
      sumi += (q & 0x0f) * a8[ys + j] + (q >> 4) * a8[ys + j + 16];
    }
    const dw = f16[w[wo] | (w[wo + 1] << 8)];
    const mw = f16[w[wo + 2] | (w[wo + 3] << 8)];
    const da = f16[a[ao] | (a[ao + 1] << 8)];
    const sa = f16[a[ao + 2] | (a[ao + 3] << 8)];
    sum += dw * da * sumi + mw * sa;
  }
  return Math.fround(sum);
}

function qh32(w: Uint8Array, o: number): number {
  return (w[o] | (w[o + 1] << 8) | (w[o + 2] << 16) | (w[o + 3] << 24)) >>> 0;
}

export function dotQ5_0Q8_0(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q5_0.bytes;
    const ao = aOff + b * Q8_0.bytes;
    const qh = qh32(w, wo + Q5_0.qh);
    const qs = wo + Q5_0.qs;
    const ys = ao + Q8_0.qs;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[qs + j];
      const q0 = ((q & 0x0f) | (((qh >>> j) << 4) & 0x10)) - 16;
      const q1 = ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
      sumi += q0 * a8[ys + j] + q1 * a8[ys + j + 16];
    }
    sum += sumi * f16[w[wo] | (w[wo + 1] << 8)] * f16[a[ao] | (a[ao + 1] << 8)];
  }
  return Math.fround(sum);
}

export function dotQ5_1Q8_1(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q5_1.bytes;
    const ao = aOff + b * Q8_1.bytes;
    const qh = qh32(w, wo + Q5_1.qh);
    const qs = wo + Q5_1.qs;
    const ys = ao + Q8_1.qs;
    let sumi = 0;
    for (let j = 0; j < 16; j++) {
      const q = w[qs + j];
      const q0 = (q & 0x0f) | (((qh >>> j) << 4) & 0x10);
      const q1 = (q >> 4) | ((qh >>> (j + 12)) & 0x10);
      sumi += q0 * a8[ys + j] + q1 * a8[ys + j + 16];
    }
    const dw = f16[w[wo] | (w[wo + 1] << 8)];
    const mw = f16[w[wo + 2] | (w[wo + 3] << 8)];
    const da = f16[a[ao] | (a[ao + 1] << 8)];
    const sa = f16[a[ao + 2] | (a[ao + 3] << 8)];
    sum += dw * da * sumi + mw * sa;
  }
  return Math.fround(sum);
}

export function dotQ8_0Q8_0(w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number): number {
  const a8 = int8(a);
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const wo = wOff + b * Q8_0.bytes;
    const ao = aOff + b * Q8_0.bytes;
    const xs = wo + Q8_0.qs;
    const ys = ao + Q8_0.qs;
    let sumi = 0;
    for (let j = 0; j < 32; j += 4) {
      sumi += ((w[xs + j] << 24) >> 24) * a8[ys + j]
        + ((w[xs + j + 1] << 24) >> 24) * a8[ys + j + 1]
        + ((w[xs + j + 2] << 24) >> 24) * a8[ys + j + 2]
        + ((w[xs + j + 3] << 24) >> 24) * a8[ys + j + 3];
    }
    sum += sumi * f16[w[wo] | (w[wo + 1] << 8)] * f16[a[ao] | (a[ao + 1] << 8)];
  }
  return Math.fround(sum);
}
