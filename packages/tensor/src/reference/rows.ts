// Row decoders for the float weight types the reference backend understands natively
// (F32, F16, BF16). A WeightMatrix row is `cols` little-endian elements; quantised types
// come from plugged-in kernels (the quant package), not from here.

import type { RowDecoder, WeightMatrix } from "../backend.js";
import { f16DecodeTable } from "../f16.js";
import { GGMLType } from "../ggml.js";

const f16Table = f16DecodeTable();

/** A Float32Array over the bytes of an F32 matrix; copies only when the bytes are misaligned. */
export function f32View(w: WeightMatrix): Float32Array {
  const n = w.rows * w.cols;
  if (w.bytes.byteOffset % 4 === 0) return new Float32Array(w.bytes.buffer, w.bytes.byteOffset, n);
  return new Float32Array(w.bytes.slice(0, n * 4).buffer);
}

/** A Uint16Array over the bytes of an F16/BF16 matrix; copies only when misaligned. */
export function u16View(w: WeightMatrix): Uint16Array {
  const n = w.rows * w.cols;
  if (w.bytes.byteOffset % 2 === 0) return new Uint16Array(w.bytes.buffer, w.bytes.byteOffset, n);
  return new Uint16Array(w.bytes.slice(0, n * 2).buffer);
}

export const decodeRowF32: RowDecoder = (w, row, out, outOffset) => {
  const cols = w.cols;
  if (w.bytes.byteOffset % 4 === 0) {
    out.set(new Float32Array(w.bytes.buffer, w.bytes.byteOffset + row * cols * 4, cols), outOffset);
  } else {
    const dv = new DataView(w.bytes.buffer, w.bytes.byteOffset + row * cols * 4, cols * 4);
    for (let c = 0; c < cols; c++) out[outOffset + c] = dv.getFloat32(c * 4, true);
  }
};

export const decodeRowF16: RowDecoder = (w, row, out, outOffset) => {
  const cols = w.cols;
  const b = w.bytes;
  let p = row * cols * 2;
  for (let c = 0; c < cols; c++, p += 2) out[outOffset + c] = f16Table[b[p] | (b[p + 1] << 8)];
};

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);

export const decodeRowBF16: RowDecoder = (w, row, out, outOffset) => {
  const cols = w.cols;
  const b = w.bytes;
  let p = row * cols * 2;
  for (let c = 0; c < cols; c++, p += 2) {
    bf16Bits[0] = ((b[p] | (b[p + 1] << 8)) << 16) >>> 0;
    out[outOffset + c] = bf16Scratch[0];
  }
};

/** The native decoders, by type. */
export const floatRowDecoders: Partial<Record<GGMLType, RowDecoder>> = {
  [GGMLType.F32]: decodeRowF32,
  [GGMLType.F16]: decodeRowF16,
  [GGMLType.BF16]: decodeRowBF16,
};
