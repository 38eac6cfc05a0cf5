// The codec table: for each ggml type, its row quantiser (if llamats writes that type) and
// its row dequantiser. Offsets are element offsets into the Float32Array and byte offsets
// into the Uint8Array; `cols` must be a whole number of blocks.

import { GGMLType, bf16ToF32, f16DecodeTable, f32ToBf16, f32ToF16 } from "@llamats/tensor";
import { dequantizeRowQ2_K, dequantizeRowQ3_K, quantizeRowQ2_K, quantizeRowQ3_K } from "./q23k.js";
import { dequantizeRowQ4_K, dequantizeRowQ5_K, quantizeRowQ4_K, quantizeRowQ5_K } from "./q4k.js";
import { dequantizeRowQ6_K, quantizeRowQ6_K } from "./q6k.js";
import { dequantizeRowQ8_K, quantizeRowQ8_K } from "./q8k.js";
import { dequantizeRowQ4_0, dequantizeRowQ4_1, quantizeRowQ4_0, quantizeRowQ4_1 } from "./legacy4.js";
import { dequantizeRowQ5_0, dequantizeRowQ5_1, quantizeRowQ5_0, quantizeRowQ5_1 } from "./legacy5.js";
import { dequantizeRowQ8_0, dequantizeRowQ8_1, quantizeRowQ8_0, quantizeRowQ8_1 } from "./q8.js";

/** src[srcOff .. srcOff + cols) -> blocks at dst[dstOff ..]. */
export type RowQuantizer = (src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number) => void;
/** blocks at src[srcOff ..] -> dst[dstOff .. dstOff + cols). */
export type RowDequantizer = (src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number) => void;

function quantizeRowF32(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let j = 0; j < cols; j++) view.setFloat32(dstOff + 4 * j, src[srcOff + j], true);
}
function dequantizeRowF32(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let j = 0; j < cols; j++) dst[dstOff + j] = view.getFloat32(srcOff + 4 * j, true);
}
function quantizeRowF16(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  for (let j = 0; j < cols; j++) {
    const h = f32ToF16(src[srcOff + j]);
    dst[dstOff + 2 * j] = h & 0xff;
    dst[dstOff + 2 * j + 1] = h >>> 8;
  }
}
const f16Table = f16DecodeTable();
function dequantizeRowF16(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  for (let j = 0; j < cols; j++) dst[dstOff + j] = f16Table[src[srcOff + 2 * j] | (src[srcOff + 2 * j + 1] << 8)];
}
function quantizeRowBF16(src: Float32Array, srcOff: number, cols: number, dst: Uint8Array, dstOff: number): void {
  for (let j = 0; j < cols; j++) {
    const h = f32ToBf16(src[srcOff + j]);
    dst[dstOff + 2 * j] = h & 0xff;
    dst[dstOff + 2 * j + 1] = h >>> 8;
  }
}
function dequantizeRowBF16(src: Uint8Array, srcOff: number, cols: number, dst: Float32Array, dstOff: number): void {
  for (let j = 0; j < cols; j++) dst[dstOff + j] = bf16ToF32(src[srcOff + 2 * j] | (src[srcOff + 2 * j + 1] << 8));
}

export interface Codec {
  readonly quantize?: RowQuantizer;
  readonly dequantize: RowDequantizer;
}

export const codecs: Partial<Record<GGMLType, Codec>> = {
  [GGMLType.F32]: { quantize: quantizeRowF32, dequantize: dequantizeRowF32 },
  [GGMLType.F16]: { quantize: quantizeRowF16, dequantize: dequantizeRowF16 },
  [GGMLType.BF16]: { quantize: quantizeRowBF16, dequantize: dequantizeRowBF16 },
  [GGMLType.Q4_0]: { quantize: quantizeRowQ4_0, dequantize: dequantizeRowQ4_0 },
  [GGMLType.Q4_1]: { quantize: quantizeRowQ4_1, dequantize: dequantizeRowQ4_1 },
  [GGMLType.Q5_0]: { quantize: quantizeRowQ5_0, dequantize: dequantizeRowQ5_0 },
  [GGMLType.Q5_1]: { quantize: quantizeRowQ5_1, dequantize: dequantizeRowQ5_1 },
  [GGMLType.Q8_0]: { quantize: quantizeRowQ8_0, dequantize: dequantizeRowQ8_0 },
  [GGMLType.Q8_1]: { quantize: quantizeRowQ8_1, dequantize: dequantizeRowQ8_1 },
  [GGMLType.Q2_K]: { quantize: quantizeRowQ2_K, dequantize: dequantizeRowQ2_K },
  [GGMLType.Q3_K]: { quantize: quantizeRowQ3_K, dequantize: dequantizeRowQ3_K },
  [GGMLType.Q4_K]: { quantize: quantizeRowQ4_K, dequantize: dequantizeRowQ4_K },
  [GGMLType.Q5_K]: { quantize: quantizeRowQ5_K, dequantize: dequantizeRowQ5_K },
  [GGMLType.Q6_K]: { quantize: quantizeRowQ6_K, dequantize: dequantizeRowQ6_K },
  [GGMLType.Q8_K]: { quantize: quantizeRowQ8_K, dequantize: dequantizeRowQ8_K },
};
