// Weight matrices in the layouts the gpu.js kernels read. Every shader input is f32, so
// integer codes are packed into floats below 2^24 (exact):
//   Q4_0 -> 7 floats per 32-weight block: [d, p0 .. p5], p = c0 + 16 c1 + ... + 16^5 c5
//           (six 4-bit codes, weight order; weight = (c - 8) * d)
//   Q8_0 -> 12 floats per block: [d, p0 .. p10], p = b0 + 256 b1 + 65536 b2
//           (three int8 codes as unsigned bytes, weight order)
//   anything else -> f32 rows (F16/BF16 decoded exactly; other quant types dequantised).
// A matrix larger than one storage binding is split into row chunks that each fit.

import { GGMLType, LlamatsError, type WeightMatrix, decodeBf16, decodeF16, f16ToF32, ggmlRowBytes, ggmlTypeInfo } from "@llamats/tensor";
import { canDequantize, dequantizeRow } from "@llamats/quant";

export type PackedKind = "f32" | "q8_0" | "q4_0";

/** Floats per row of `cols` weights in each packed kind. */
export function packedRowFloats(kind: PackedKind, cols: number): number {
  if (kind === "f32") return cols;
  return (cols / 32) * (kind === "q4_0" ? 7 : 12);
}

export function packedKindFor(type: GGMLType): PackedKind {
  if (type === GGMLType.Q4_0) return "q4_0";
  if (type === GGMLType.Q8_0) return "q8_0";
  return "f32";
}

/** Rows [r0, r0 + nRows) of w in the packed layout of its kind. */
export function packRows(w: WeightMatrix, r0: number, nRows: number): Float32Array {
  const kind = packedKindFor(w.type);
  const rowFloats = packedRowFloats(kind, w.cols);
  const out = new Float32Array(nRows * rowFloats);
  const rowBytes = ggmlRowBytes(w.type, w.cols);
  for (let r = 0; r < nRows; r++) {
    const src = (r0 + r) * rowBytes;
    const dst = r * rowFloats;
    if (kind === "q4_0") packRowQ4_0(w.bytes, src, w.cols, out, dst);
    else if (kind === "q8_0") packRowQ8_0(w.bytes, src, w.cols, out, dst);
    else decodeRowF32(w, src, out, dst);
  }
  return out;
}

function packRowQ4_0(bytes: Uint8Array, off: number, cols: number, out: Float32Array, dst: number): void {
  const codes = new Uint8Array(32);
  for (let b = 0; b < cols / 32; b++) {
    const blk = off + b * 18;
    out[dst] = f16ToF32(bytes[blk] | (bytes[blk + 1] << 8));
    // ggml Q4_0: byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    for (let j = 0; j < 16; j++) {
      const q = bytes[blk + 2 + j];
      codes[j] = q & 15;
      codes[j + 16] = q >> 4;
    }
    for (let e = 0; e < 6; e++) {
      let p = 0;
      for (let k = 5; k >= 0; k--) {
        const idx = e * 6 + k;
        p = p * 16 + (idx < 32 ? codes[idx] : 0);
      }
      out[dst + 1 + e] = p;
    }
    dst += 7;
  }
}

function packRowQ8_0(bytes: Uint8Array, off: number, cols: number, out: Float32Array, dst: number): void {
  for (let b = 0; b < cols / 32; b++) {
    const blk = off + b * 34;
    out[dst] = f16ToF32(bytes[blk] | (bytes[blk + 1] << 8));
    for (let e = 0; e < 11; e++) {
      let p = 0;
      for (let k = 2; k >= 0; k--) {
        const idx = e * 3 + k;
        p = p * 256 + (idx < 32 ? bytes[blk + 2 + idx] : 0);
      }
      out[dst + 1 + e] = p;
    }
    dst += 12;
  }
}

/** Row of w starting at byte byteOff, decoded to f32 into out[dst ..] (any type the quant package reads). */
export function decodeRowF32(w: WeightMatrix, byteOff: number, out: Float32Array, dst: number): void {
  const cols = w.cols;
  const abs = w.bytes.byteOffset + byteOff;
  switch (w.type) {
    case GGMLType.F32:
      out.set(new Float32Array(w.bytes.buffer.slice(abs, abs + cols * 4)), dst);
      return;
    case GGMLType.F16:
      decodeF16(new Uint16Array(w.bytes.buffer.slice(abs, abs + cols * 2)), out.subarray(dst, dst + cols));
      return;
    case GGMLType.BF16:
      decodeBf16(new Uint16Array(w.bytes.buffer.slice(abs, abs + cols * 2)), out.subarray(dst, dst + cols));
      return;
    default:
      if (!canDequantize(w.type)) {
        throw new LlamatsError(`gpu backend: cannot read ${ggmlTypeInfo(w.type)?.name ?? `type ${w.type}`} weights`);
      }
      dequantizeRow(w.type, w.bytes, byteOff, cols, out, dst);
  }
}

/** Row chunks [r0, r0 + rows) such that each packed chunk fits in maxBytes. */
export function rowChunks(kind: PackedKind, rows: number, cols: number, maxBytes: number): { r0: number; rows: number }[] {
  const rowBytes = packedRowFloats(kind, cols) * 4;
  const per = Math.floor(maxBytes / rowBytes);
  if (per < 1) throw new LlamatsError(`gpu backend: one row of ${cols} weights (${rowBytes} bytes packed) exceeds the storage binding limit ${maxBytes}`);
  const out: { r0: number; rows: number }[] = [];
  for (let r0 = 0; r0 < rows; r0 += per) out.push({ r0, rows: Math.min(per, rows - r0) });
  return out;
}
