// Converting a tensor's bytes from one ggml type to another: F32/F16/BF16 through the
// @llamats/tensor codecs, quantised types through @llamats/quant's quantizeRows /
// dequantizeRows (looked up at run time, so this package works before they land).
// Same type in and out returns the bytes untouched.

import {
  GGMLType, LlamatsError, decodeBf16, encodeBf16, encodeF16, f16DecodeTable, ggmlTypeInfo,
} from "@llamats/tensor";
import * as quant from "@llamats/quant";

type QuantizeRows = (type: number, src: Float32Array, rows: number, cols: number) => Uint8Array;
type DequantizeRows = (type: number, bytes: Uint8Array, rows: number, cols: number) => Float32Array;

function quantFn<T>(name: string): T | undefined {
  const f = (quant as Record<string, unknown>)[name];
  return typeof f === "function" ? (f as T) : undefined;
}

/** (rows, cols) of a tensor as ggml sees it: cols = innermost dim, rows = the rest. */
export function rowsCols(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  const cols = shape[shape.length - 1];
  return [shape.slice(0, -1).reduce((a, d) => a * d, 1), cols];
}

function u16view(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return new Uint16Array(bytes.slice().buffer);
}

/** Decode any float or quantised tensor to float32. */
export function toFloat32(bytes: Uint8Array, type: number, shape: readonly number[]): Float32Array {
  const [rows, cols] = rowsCols(shape);
  switch (type) {
    case GGMLType.F32:
      return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Float32Array(bytes.slice().buffer);
    case GGMLType.F16: return decodeF16Exact(u16view(bytes));
    case GGMLType.BF16: return decodeBf16(u16view(bytes));
    default: {
      const info = ggmlTypeInfo(type);
      const deq = quantFn<DequantizeRows>("dequantizeRows");
      if (!info?.quantized || !deq) throw new LlamatsError(`cannot convert tensors of type ${info?.name ?? type} to float`);
      return deq(type, bytes, rows, cols);
    }
  }
}

// Bit-level paths: a signalling NaN read into a JS number is quieted by the CPU, so the
// widening f16/bf16 -> f32 -> f16/bf16 that GGUF norms go through works on bit patterns.
const f16TableBits = new Uint32Array(f16DecodeTable().buffer);

function decodeF16Exact(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = f16TableBits[src[i]];
  return out;
}

/** float32 -> f16 bits, round to nearest even; NaNs keep sign and top payload bits. */
function encodeF16Exact(values: Float32Array): Uint16Array {
  const out = encodeF16(values);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      const payload = (x & 0x7fffff) >>> 13;
      out[i] = ((x >>> 16) & 0x8000) | 0x7c00 | (payload === 0 ? 0x200 : payload);
    }
  }
  return out;
}

/**
 * float32 -> bf16, round to nearest even; a value whose low 16 bits are zero (every value
 * that came from bf16, NaN payloads included) keeps its top half exactly, so
 * bf16 -> f32 -> bf16 is the identity on every bit pattern.
 */
function encodeBf16Exact(values: Float32Array): Uint16Array {
  const out = encodeBf16(values);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) if ((bits[i] & 0xffff) === 0) out[i] = bits[i] >>> 16;
  return out;
}

/** Encode float32 values as `type`. */
export function fromFloat32(values: Float32Array, type: number, shape: readonly number[]): Uint8Array {
  const [rows, cols] = rowsCols(shape);
  switch (type) {
    case GGMLType.F32: return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GGMLType.F16: return new Uint8Array(encodeF16Exact(values).buffer);
    case GGMLType.BF16: return new Uint8Array(encodeBf16Exact(values).buffer);
    default: {
      const info = ggmlTypeInfo(type);
      const q = quantFn<QuantizeRows>("quantizeRows");
      if (!info?.quantized || !q) throw new LlamatsError(`cannot convert tensors to type ${info?.name ?? type}`);
      if (cols % info.blockSize !== 0) throw new LlamatsError(`rows of ${cols} elements cannot be quantised to ${info.name} (block ${info.blockSize})`);
      return q(type, values, rows, cols);
    }
  }
}

/** Bytes of a tensor converted from one ggml type to another (identity when equal). */
export function convertTensorBytes(bytes: Uint8Array, from: number, to: number, shape: readonly number[], chunkElements = 1 << 22): Uint8Array {
  if (from === to) return bytes;
  const [rows, cols] = rowsCols(shape);
  const chunkRows = Math.max(1, Math.floor(chunkElements / Math.max(1, cols)));
  const plain = from === GGMLType.F16 || from === GGMLType.BF16 || from === GGMLType.F32;
  if (rows <= chunkRows || !plain || shape.length < 2) return fromFloat32(toFloat32(bytes, from, shape), to, shape);
  // Row blocks: every conversion works row by row (quantisation blocks never cross a row), so
  // the bytes are the same, and the float32 copy stays ~16 MiB instead of 4x the f16 tensor
  // (a 49954x4096 embedding quantised to q4_0 held 818 MB of float32 at once).
  const inRow = tensorBytes(from, [1, cols]), outRow = tensorBytes(to, [1, cols]);
  const out = new Uint8Array(rows * outRow);
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const n = Math.min(chunkRows, rows - r0);
    out.set(fromFloat32(toFloat32(bytes.subarray(r0 * inRow, (r0 + n) * inRow), from, [n, cols]), to, [n, cols]), r0 * outRow);
  }
  return out;
}

/** Bytes a tensor of this shape takes as `type`. */
export function tensorBytes(type: number, shape: readonly number[]): number {
  const info = ggmlTypeInfo(type);
  if (!info) throw new LlamatsError(`unknown ggml type ${type}`);
  const [rows, cols] = rowsCols(shape);
  if (cols % info.blockSize !== 0) throw new LlamatsError(`rows of ${cols} elements cannot be stored as ${info.name} (block ${info.blockSize})`);
  return rows * (cols / info.blockSize) * info.bytesPerBlock;
}
