// The public entry points for whole matrices: quantizeRows / dequantizeRows /
// dequantizeRow over any type llamats reads or writes (F32, F16, BF16 included, so callers
// have one entry point). Quantisation refuses NaN and ±Inf with the block index, because
// ggml's quantisers would silently store garbage scales.

import { GGMLType, LlamatsError, ggmlRowBytes, ggmlTypeInfo } from "@llamats/tensor";
import { codecs, type Codec } from "./codecs.js";

/** A weight that is NaN or infinite: quantising it would write a meaningless block. */
export class NonFiniteWeightError extends LlamatsError {
  constructor(readonly tensorName: string | undefined, readonly row: number, readonly block: number, readonly col: number) {
    super(`${tensorName ? `tensor ${tensorName}: ` : ""}non-finite weight (NaN or Inf) at row ${row}, column ${col} (block ${block})`);
  }
}

function codecFor(type: GGMLType, needQuantize: boolean): Codec {
  const c = codecs[type];
  if (!c || (needQuantize && !c.quantize)) {
    const name = ggmlTypeInfo(type)?.name ?? String(type);
    throw new LlamatsError(`ggml type ${name} is not supported for ${needQuantize ? "quantisation" : "dequantisation"}`);
  }
  return c;
}

function checkShape(type: GGMLType, rows: number, cols: number): number {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`bad matrix shape (${rows}, ${cols})`);
  }
  try {
    return ggmlRowBytes(type, cols);
  } catch (err) {
    throw new LlamatsError((err as Error).message);
  }
}

/** Whether `type` can be written by quantizeRows. */
export function canQuantize(type: GGMLType): boolean {
  return Boolean(codecs[type]?.quantize);
}

/** Whether `type` can be read by dequantizeRows. */
export function canDequantize(type: GGMLType): boolean {
  return Boolean(codecs[type]);
}

/** Throws NonFiniteWeightError for the first NaN / ±Inf in src (rows, cols). */
export function checkFinite(type: GGMLType, src: Float32Array, rows: number, cols: number, tensorName?: string): void {
  const blockSize = ggmlTypeInfo(type)?.blockSize ?? 1;
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (v - v !== 0) {
      const col = i % cols;
      throw new NonFiniteWeightError(tensorName, Math.floor(i / cols), Math.floor(col / blockSize), col);
    }
  }
}

/**
 * Quantise src (rows, cols) row-major to `type`: rows * ggmlRowBytes(type, cols) bytes.
 * Byte-identical to llama.cpp's reference quantisers. Refuses NaN / Inf.
 */
export function quantizeRows(type: GGMLType, src: Float32Array, rows: number, cols: number, dst?: Uint8Array,
  tensorName?: string): Uint8Array {
  const rowBytes = checkShape(type, rows, cols);
  const codec = codecFor(type, true);
  if (src.length < rows * cols) throw new RangeError(`source holds ${src.length} values, (${rows}, ${cols}) needs ${rows * cols}`);
  const out = dst ?? new Uint8Array(rows * rowBytes);
  if (out.length < rows * rowBytes) throw new RangeError(`destination holds ${out.length} bytes, needs ${rows * rowBytes}`);
  if (type !== GGMLType.F32 && type !== GGMLType.F16 && type !== GGMLType.BF16) checkFinite(type, src, rows, cols, tensorName);
  const q = codec.quantize!;
  for (let r = 0; r < rows; r++) q(src, r * cols, cols, out, r * rowBytes);
  return out;
}

/** Decode bytes holding (rows, cols) of `type` to float32 (rows, cols). */
export function dequantizeRows(type: GGMLType, bytes: Uint8Array, rows: number, cols: number, dst?: Float32Array): Float32Array {
  const rowBytes = checkShape(type, rows, cols);
  const codec = codecFor(type, false);
  if (bytes.length < rows * rowBytes) throw new RangeError(`source holds ${bytes.length} bytes, (${rows}, ${cols}) needs ${rows * rowBytes}`);
  const out = dst ?? new Float32Array(rows * cols);
  if (out.length < rows * cols) throw new RangeError(`destination holds ${out.length} values, needs ${rows * cols}`);
  for (let r = 0; r < rows; r++) codec.dequantize(bytes, r * rowBytes, cols, out, r * cols);
  return out;
}

/** Decode one row of `cols` elements starting at bytes[byteOffset] into dst[dstOffset ..]. */
export function dequantizeRow(type: GGMLType, bytes: Uint8Array, byteOffset: number, cols: number, dst: Float32Array,
  dstOffset: number): void {
  const rowBytes = checkShape(type, 1, cols);
  if (byteOffset < 0 || byteOffset + rowBytes > bytes.length) throw new RangeError(`row at byte ${byteOffset} runs past ${bytes.length} bytes`);
  if (dstOffset < 0 || dstOffset + cols > dst.length) throw new RangeError(`row of ${cols} at ${dstOffset} runs past ${dst.length} values`);
  codecFor(type, false).dequantize(bytes, byteOffset, cols, dst, dstOffset);
}
