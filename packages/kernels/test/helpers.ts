// Shared test helpers: seeded weights of each kind, the float64 "ideal" quantised product
// (dequantised weights · Q8_0-dequantised activations, summed in float64) and its bound.

import { GGMLType, ggmlTypeInfo } from "@llamats/tensor";
import { dequantizeRows, quantizeRows } from "@llamats/quant";
import { mulberry32 } from "@llamats/testkit";

export type WeightKind = "normal" | "zero" | "extreme" | "mixed";

/** rows x cols float weights: gaussian-ish, all zero, huge/tiny magnitudes, or mixed rows. */
export function makeWeights(kind: WeightKind, n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rand() * 2 - 1;
    switch (kind) {
      case "normal": w[i] = u * 0.5; break;
      case "zero": w[i] = 0; break;
      // Extreme: |w| up to 1e4 (scales near f16 max / 16), exact zeros and tiny values.
      case "extreme": w[i] = i % 7 === 0 ? 0 : i % 5 === 0 ? u * 1e-6 : u * 1e4; break;
      case "mixed": w[i] = Math.floor(i / 64) % 3 === 0 ? 0 : u * (i % 3 === 0 ? 8 : 0.01); break;
    }
  }
  return w;
}

export function quantised(type: GGMLType, w: Float32Array, rows: number, cols: number): Uint8Array {
  if (type === GGMLType.F32) return new Uint8Array(w.buffer.slice(0, rows * cols * 4));
  return quantizeRows(type, w, rows, cols);
}

export function blockElems(type: GGMLType): number {
  return ggmlTypeInfo(type)!.blockSize;
}

/** Dequantise x's rows to Q8_0 values as the kernels see them (f16 d times q). */
export function q8Dequant(x: Float32Array, nTokens: number, cols: number): Float64Array {
  const out = new Float64Array(nTokens * cols);
  const bytes = quantizeRows(GGMLType.Q8_0, x, nTokens, cols);
  const f = dequantizeRows(GGMLType.Q8_0, bytes, nTokens, cols);
  out.set(f);
  return out;
}

/** Ideal product and the bound per element: eps * sum |w_j x_j| + tiny. */
export function idealProduct(
  type: GGMLType, bytes: Uint8Array, rows: number, cols: number, xEff: ArrayLike<number>, nTokens: number, eps: number,
): { ideal: Float64Array; bound: Float64Array } {
  const wf = dequantizeRows(type, bytes, rows, cols);
  const ideal = new Float64Array(nTokens * rows);
  const bound = new Float64Array(nTokens * rows);
  for (let t = 0; t < nTokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      let a = 0;
      for (let c = 0; c < cols; c++) {
        const p = wf[r * cols + c]! * xEff[t * cols + c]!;
        s += p;
        a += Math.abs(p);
      }
      ideal[t * rows + r] = s;
      bound[t * rows + r] = eps * a + 1e-30;
    }
  }
  return { ideal, bound };
}
