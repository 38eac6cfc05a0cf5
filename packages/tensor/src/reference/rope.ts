// Rotary position embedding, in place on x (nTokens, nHeads, headDim).
// Pair i (i < rotDim/2) of a head is rotated by the angle pos * freqScale * base^(-2i/rotDim):
// - "interleaved" pairs dims (2i, 2i+1)  (Meta checkpoints, llama2.c, GGUF, ggml mode 0);
// - "neox" pairs dims (i, i + rotDim/2)  (Hugging Face rotate_half, ggml NEOX mode).
// Dimensions at rotDim and beyond are left untouched. Angles are computed in f64.

import type { RopeParams } from "../backend.js";

/** cos/sin tables (nTokens, rotDim/2) for the given positions. */
export function ropeTables(positions: ArrayLike<number>, p: RopeParams): { cos: Float64Array; sin: Float64Array } {
  const rotDim = p.rotDim ?? p.headDim;
  const half = rotDim >> 1;
  const scale = p.freqScale ?? 1;
  const n = positions.length;
  const cos = new Float64Array(n * half);
  const sin = new Float64Array(n * half);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(p.base, (-2 * i) / rotDim);
  for (let t = 0; t < n; t++) {
    const pos = positions[t] * scale;
    for (let i = 0; i < half; i++) {
      const a = pos * invFreq[i];
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

export function ropeRef(x: Float32Array, nHeads: number, positions: ArrayLike<number>, p: RopeParams): void {
  const headDim = p.headDim;
  const rotDim = p.rotDim ?? headDim;
  if (rotDim % 2 !== 0 || rotDim > headDim || rotDim < 0) {
    throw new RangeError(`rope: rotDim ${rotDim} must be even and <= headDim ${headDim}`);
  }
  const half = rotDim >> 1;
  const { cos, sin } = ropeTables(positions, p);
  const interleaved = p.layout === "interleaved";
  for (let t = 0; t < positions.length; t++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i];
        const s = sin[t * half + i];
        const i0 = interleaved ? base + 2 * i : base + i;
        const i1 = interleaved ? i0 + 1 : i0 + half;
        const a = x[i0];
        const b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = a * s + b * c;
      }
    }
  }
}
