// The scalar twin of delta_rows (delta-wasm.ts): the same tiles, the same packed A, the same
// order of operations, one element at a time in TypeScript. It states what the SIMD kernel
// computes (tests compare the two bit for bit, and both with the plain loop of merge.ts).

import { packA, ROWS_PER_TILE } from "./delta-wasm.js";

/**
 * d (nRows, inDim) += B (nRows, r) @ A (r, inDim), with `aPacked` laid out by packA and
 * `b` holding B's nRows rows; inDim a multiple of 4.
 */
export function deltaRowsScalar(aPacked: Float64Array, b: Float32Array, d: Float32Array, nRows: number, inDim: number, r: number): Float32Array {
  const fr = Math.fround;
  const acc = new Float64Array(ROWS_PER_TILE * 4);
  const tile = (i0: number, rows: number): void => {
    for (let jb = 0; jb < inDim; jb += 4) {
      for (let row = 0; row < rows; row++) for (let c = 0; c < 4; c++) acc[row * 4 + c] = d[(i0 + row) * inDim + jb + c];
      const panel = (jb / 4) * r * 4;
      for (let k = 0; k < r; k++) {
        for (let row = 0; row < rows; row++) {
          const bk = b[(i0 + row) * r + k];
          for (let c = 0; c < 4; c++) acc[row * 4 + c] = fr(acc[row * 4 + c] + aPacked[panel + k * 4 + c] * bk);
        }
      }
      for (let row = 0; row < rows; row++) for (let c = 0; c < 4; c++) d[(i0 + row) * inDim + jb + c] = acc[row * 4 + c];
    }
  };
  let i = 0;
  for (; i + ROWS_PER_TILE <= nRows; i += ROWS_PER_TILE) tile(i, ROWS_PER_TILE);
  for (; i < nRows; i++) tile(i, 1);
  return d;
}

/** Rows i0 .. i1-1 of B @ A (A unpacked, (r, inDim)) into d ((i1 - i0), inDim) by the scalar twin. */
export function loraDeltaRowsScalar(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): Float32Array {
  const packed = new Float64Array(a.length);
  packA(a, r, inDim, packed);
  d.fill(0, 0, (i1 - i0) * inDim);
  return deltaRowsScalar(packed, b.subarray(i0 * r, i1 * r), d, i1 - i0, inDim, r);
}
