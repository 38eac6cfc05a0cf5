// Reference matrix products: out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ for float
// weights. Each weight row is decoded to float32 once and dotted with every token's
// activations, so prefill (nTokens > 1) reads the weights once. Products are accumulated
// in JavaScript numbers (f64) and rounded to f32 on store: at least as accurate as the f32
// accumulation of PyTorch and llama.cpp, which the conformance tolerances allow for.

import type { RowDecoder, WeightMatrix } from "../backend.js";
import { GGMLType } from "../ggml.js";
import { f32View } from "./rows.js";

/** sum_c a[aOff + c] * b[bOff + c] for c < n, in f64, four partial sums. */
export function dot(a: Float32Array, aOff: number, b: Float32Array, bOff: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    s0 += a[aOff + c] * b[bOff + c];
    s1 += a[aOff + c + 1] * b[bOff + c + 1];
    s2 += a[aOff + c + 2] * b[bOff + c + 2];
    s3 += a[aOff + c + 3] * b[bOff + c + 3];
  }
  for (; c < n; c++) s0 += a[aOff + c] * b[bOff + c];
  return s0 + s1 + s2 + s3;
}

/** Product for F32 weights, read in place. */
export function matmulF32(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
  const { rows, cols } = w;
  const wf = f32View(w); // (rows, cols)
  for (let r = 0; r < rows; r++) {
    const wOff = r * cols;
    for (let t = 0; t < nTokens; t++) out[t * rows + r] = dot(wf, wOff, x, t * cols, cols);
  }
}

/** Product for any type with a row decoder: decode a row, dot it with every token. */
export function matmulByRows(decodeRow: RowDecoder): (out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number) => void {
  let scratch = new Float32Array(0);
  return (out, w, x, nTokens) => {
    const { rows, cols } = w;
    if (scratch.length < cols) scratch = new Float32Array(cols);
    for (let r = 0; r < rows; r++) {
      decodeRow(w, r, scratch, 0);
      for (let t = 0; t < nTokens; t++) out[t * rows + r] = dot(scratch, 0, x, t * cols, cols);
    }
  };
}

export function isNativeFloat(type: GGMLType): boolean {
  return type === GGMLType.F32 || type === GGMLType.F16 || type === GGMLType.BF16;
}
