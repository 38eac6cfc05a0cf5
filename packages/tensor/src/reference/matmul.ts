// Reference matrix products: out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ for float
// weights. Each weight row is decoded to float32 once and dotted with every token's
// activations, so prefill (nTokens > 1) reads the weights once. Products are accumulated
// in JavaScript numbers (f64) and rounded to f32 on store: at least as accurate as the f32
// accumulation of PyTorch and llama.cpp, which the conformance tolerances allow for.

import type { MatmulKernel, RowDecoder, WeightMatrix } from "../backend.js";
import { f16DecodeTable } from "../f16.js";
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

/** Two rows at once: out[t*rows + r], out[t*rows + r + 1] share each load of x. */
function dot2(w: Float32Array, o0: number, x: Float32Array, xOff: number, cols: number, out: Float32Array, i0: number): void {
  const o1 = o0 + cols;
  let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
  let c = 0;
  for (; c + 2 <= cols; c += 2) {
    const x0 = x[xOff + c];
    const x1 = x[xOff + c + 1];
    a0 += w[o0 + c] * x0;
    a1 += w[o0 + c + 1] * x1;
    b0 += w[o1 + c] * x0;
    b1 += w[o1 + c + 1] * x1;
  }
  if (c < cols) {
    a0 += w[o0 + c] * x[xOff + c];
    b0 += w[o1 + c] * x[xOff + c];
  }
  out[i0] = a0 + a1;
  out[i0 + 1] = b0 + b1;
}

/** Product for F32 weights, read in place. */
export function matmulF32(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
  const { rows, cols } = w;
  const wf = f32View(w); // (rows, cols)
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    for (let t = 0; t < nTokens; t++) dot2(wf, r * cols, x, t * cols, cols, out, t * rows + r);
  }
  for (; r < rows; r++) {
    for (let t = 0; t < nTokens; t++) out[t * rows + r] = dot(wf, r * cols, x, t * cols, cols);
  }
}

const f16Table = f16DecodeTable();

/**
 * Product for F16 weights: for a single token the f16 table lookup is fused into the dot
 * product (no row scratch); batches decode each row once and reuse it.
 */
export function matmulF16(byRows: MatmulKernel): MatmulKernel {
  return (out, w, x, nTokens) => {
    if (nTokens > 1 || w.bytes.byteOffset % 2 !== 0) return byRows(out, w, x, nTokens);
    const { rows, cols } = w;
    const h = new Uint16Array(w.bytes.buffer, w.bytes.byteOffset, rows * cols); // (rows, cols)
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s0 = 0, s1 = 0;
      let c = 0;
      for (; c + 2 <= cols; c += 2) {
        s0 += f16Table[h[o + c]] * x[c];
        s1 += f16Table[h[o + c + 1]] * x[c + 1];
      }
      if (c < cols) s0 += f16Table[h[o + c]] * x[c];
      out[r] = s0 + s1;
    }
  };
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
