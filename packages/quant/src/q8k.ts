// Q8_K: the activation type of the K-quant dot products (never stored in files):
// 256 int8 codes, a float32 d, and int16 sums of each 16 codes (bsums) so that the min
// term of Q4_K / Q5_K costs 16 multiplies per super-block. Reproduces quantize_row_q8_K_ref
// (iscale = -127 / max, the signed element of largest magnitude, first wins).

import { fround, nearestInt, readI8, signedAbsMax } from "./f32.js";
import { Q8_K, QK_K } from "./layouts.js";

export function quantizeRowQ8_K(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const nb = cols / QK_K;
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0; i < nb; i++) {
    const x = srcOff + i * QK_K;
    const o = dstOff + i * Q8_K.bytes;
    const max = signedAbsMax(src, x, QK_K);
    const amax = Math.abs(max);
    if (!amax) {
      dst.fill(0, o, o + Q8_K.bytes);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let j = 0; j < QK_K; j++) dst[o + Q8_K.qs + j] = Math.min(127, nearestInt(fround(iscale * src[x + j]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let ii = 0; ii < 16; ii++) sum += readI8(dst, o + Q8_K.qs + 16 * j + ii);
      view.setInt16(o + Q8_K.bsums + 2 * j, sum, true);
    }
    view.setFloat32(o + Q8_K.d, fround(1 / iscale), true);
  }
}

export function dequantizeRowQ8_K(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const nb = cols / QK_K;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < nb; i++) {
    const o = srcOff + i * Q8_K.bytes;
    const d = view.getFloat32(o + Q8_K.d, true);
    for (let j = 0; j < QK_K; j++) dst[dstOff + i * QK_K + j] = d * readI8(src, o + Q8_K.qs + j);
  }
}
