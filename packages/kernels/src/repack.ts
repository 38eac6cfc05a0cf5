// Q4_0 weights repacked for 128-bit SIMD ("Q4_0x4"), the way llama.cpp repacks Q4_0 for ARM
// (Q4_0_4x4): rows in groups of four, block by block, so that one 4-byte activation chunk,
// splatted, multiplies four rows at once and the four rows' sums land in the lanes of one
// vector (no horizontal sums, no transposes). The file on disk stays standard GGUF; the
// repack happens where the bytes are placed in kernel memory, in place, at the same size.
//
// Layout. A matrix of `rows` rows and nBlocks = cols / 32 blocks per row (18 bytes each):
// rows 4g .. 4g+3 (g < floor(rows / 4)) keep their byte range [4g, 4g + 4) * rowBytes, now as
// nBlocks records of 72 bytes; record b:
//   bytes 0-63:  four 16-byte vectors V0..V3; byte 4r + c of Vi holds, for row r, code 4i + c
//                of block b in its low nibble and code 16 + 4i + c in its high nibble
//                (codes 0..15 as stored: the weight is d * (code - 8))
//   bytes 64-71: the four rows' f16 scales d (row 0 first)
// (Every load of the kernel is at a multiple of 16 from its pointer: V8 11.3 keeps one
// register per distinct static offset of a function's loads, so few offsets mean no spills.)
// The last rows % 4 rows stay as they were (standard Q4_0 rows at their usual offsets).
// Scales stay f16 (no extra bytes: generation is bound by how many bytes it reads); the
// kernel converts four at a time with integer shifts and one multiply, which is exact for
// finite f16 but not for Inf/NaN, so a matrix with a non-finite scale is not repacked.

import { GGMLType } from "@llamats/tensor";

export const Q4_0_BLOCK_BYTES = 18;
export const Q4_0X4_ROWS = 4;
export const Q4_0X4_RECORD_BYTES = Q4_0X4_ROWS * Q4_0_BLOCK_BYTES; // 72
/** Where a record's four f16 scales start. */
export const Q4_0X4_SCALES = 64;

/** Byte views whose contents are in the Q4_0x4 layout (repacked in place by a kernel backend). */
const repackedViews = new WeakSet<Uint8Array>();

/** Whether these bytes (this view object) were repacked to Q4_0x4. */
export function isRepackedQ4_0x4(bytes: Uint8Array): boolean {
  return repackedViews.has(bytes);
}

/** Mark a view as holding Q4_0x4 bytes (after repackQ4_0x4 wrote them). */
export function markRepackedQ4_0x4(bytes: Uint8Array): void {
  repackedViews.add(bytes);
}

/** Whether a standard Q4_0 matrix can be repacked: at least one group of 4 rows, finite scales. */
export function canRepackQ4_0x4(type: GGMLType, bytes: Uint8Array, rows: number, cols: number): boolean {
  if (!q4_0x4Shape(type, rows, cols)) return false;
  const n = rows * (cols / 32);
  if (bytes.byteLength < n * Q4_0_BLOCK_BYTES) return false;
  for (let i = 0; i < n; i++) {
    // f16 exponent 31: Inf or NaN
    if ((bytes[i * Q4_0_BLOCK_BYTES + 1]! & 0x7c) === 0x7c) return false;
  }
  return true;
}

/**
 * Write the Q4_0x4 form of the standard Q4_0 matrix `src` (rows, cols) into `dst` (same
 * length). dst may be src itself (in place): each group of 4 rows goes through `scratch`.
 */
export function repackQ4_0x4(src: Uint8Array, dst: Uint8Array, rows: number, cols: number): void {
  const nBlocks = cols / 32;
  const rowBytes = nBlocks * Q4_0_BLOCK_BYTES;
  const groupBytes = Q4_0X4_ROWS * rowBytes;
  const scratch = new Uint8Array(groupBytes);
  const nGroups = Math.floor(rows / Q4_0X4_ROWS);
  for (let g = 0; g < nGroups; g++) {
    const base = g * groupBytes;
    scratch.set(src.subarray(base, base + groupBytes));
    for (let b = 0; b < nBlocks; b++) {
      const rec = base + b * Q4_0X4_RECORD_BYTES;
      for (let r = 0; r < Q4_0X4_ROWS; r++) {
        const blk = r * rowBytes + b * Q4_0_BLOCK_BYTES;
        dst[rec + Q4_0X4_SCALES + 2 * r] = scratch[blk]!;
        dst[rec + Q4_0X4_SCALES + 2 * r + 1] = scratch[blk + 1]!;
        // Standard qs[j]: code j low, code j + 16 high; byte 4r + c of Vi gets qs[4i + c].
        for (let i = 0; i < 4; i++) {
          for (let c = 0; c < 4; c++) dst[rec + 16 * i + 4 * r + c] = scratch[blk + 2 + 4 * i + c]!;
        }
      }
    }
  }
  const tail = nGroups * groupBytes;
  if (dst !== src || dst.byteOffset !== src.byteOffset) dst.set(src.subarray(tail, rows * rowBytes), tail);
}

/** Row `row` of a Q4_0x4 matrix back in standard Q4_0 (rowBytes bytes into out at outOffset). */
export function unpackRowQ4_0x4(bytes: Uint8Array, rows: number, cols: number, row: number, out: Uint8Array, outOffset = 0): void {
  const nBlocks = cols / 32;
  const rowBytes = nBlocks * Q4_0_BLOCK_BYTES;
  if (row >= Math.floor(rows / Q4_0X4_ROWS) * Q4_0X4_ROWS) {
    out.set(bytes.subarray(row * rowBytes, (row + 1) * rowBytes), outOffset);
    return;
  }
  const r = row % Q4_0X4_ROWS;
  const base = (row - r) * rowBytes;
  for (let b = 0; b < nBlocks; b++) {
    const rec = base + b * Q4_0X4_RECORD_BYTES;
    const blk = outOffset + b * Q4_0_BLOCK_BYTES;
    out[blk] = bytes[rec + Q4_0X4_SCALES + 2 * r]!;
    out[blk + 1] = bytes[rec + Q4_0X4_SCALES + 2 * r + 1]!;
    for (let i = 0; i < 4; i++) {
      for (let c = 0; c < 4; c++) out[blk + 2 + 4 * i + c] = bytes[rec + 16 * i + 4 * r + c]!;
    }
  }
}


/** Whether a matrix of this type and shape has a Q4_0x4 form (before looking at its scales). */
export function q4_0x4Shape(type: GGMLType, rows: number, cols: number): boolean {
  return type === GGMLType.Q4_0 && rows >= Q4_0X4_ROWS && cols % 32 === 0;
}

/** Undo repackQ4_0x4 on the first `nGroups` groups of four rows (back to standard rows). */
export function restoreQ4_0x4Groups(bytes: Uint8Array, rows: number, cols: number, nGroups: number): void {
  const rowBytes = (cols / 32) * Q4_0_BLOCK_BYTES;
  const group = new Uint8Array(Q4_0X4_ROWS * rowBytes);
  for (let g = 0; g < nGroups; g++) {
    for (let r = 0; r < Q4_0X4_ROWS; r++) unpackRowQ4_0x4(bytes, rows, cols, Q4_0X4_ROWS * g + r, group, r * rowBytes);
    bytes.set(group, g * group.length);
  }
}
