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

/**
 * cos/sin of every position 0 .. n-1 for one (base, rotDim, freqScale), kept between calls:
 * decoding calls rope() twice per layer per token, and rebuilding the angles each time
 * (rotDim/2 pow + 2 trig per position) cost more than the rotation itself. The entries are
 * computed by exactly the expressions of ropeTables, so a cached rotation is bit-identical.
 */
class RopeTableCache {
  private static readonly MAX_ENTRIES = 8; // NTK "auto" gives a base per sequence length
  private readonly entries = new Map<string, { invFreq: Float64Array; cos: Float64Array; sin: Float64Array; n: number }>();

  /** Tables covering positions 0 .. maxPos, or undefined when a position is not a small integer. */
  get(p: RopeParams, rotDim: number, positions: ArrayLike<number>): { cos: Float64Array; sin: Float64Array } | undefined {
    let maxPos = 0;
    for (let t = 0; t < positions.length; t++) {
      const x = positions[t];
      if (!Number.isInteger(x) || x < 0 || x >= 1 << 20) return undefined;
      if (x > maxPos) maxPos = x;
    }
    const half = rotDim >> 1;
    const scale = p.freqScale ?? 1;
    const key = `${p.base}|${rotDim}|${scale}`;
    let e = this.entries.get(key);
    if (!e) {
      const invFreq = new Float64Array(half);
      for (let i = 0; i < half; i++) invFreq[i] = Math.pow(p.base, (-2 * i) / rotDim);
      e = { invFreq, cos: new Float64Array(0), sin: new Float64Array(0), n: 0 };
      if (this.entries.size >= RopeTableCache.MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, e);
    }
    if (maxPos >= e.n) {
      const n = Math.max(maxPos + 1, 2 * e.n, 64);
      const cos = new Float64Array(n * half);
      const sin = new Float64Array(n * half);
      cos.set(e.cos);
      sin.set(e.sin);
      for (let t = e.n; t < n; t++) {
        const pos = t * scale;
        for (let i = 0; i < half; i++) {
          const a = pos * e.invFreq[i];
          cos[t * half + i] = Math.cos(a);
          sin[t * half + i] = Math.sin(a);
        }
      }
      Object.assign(e, { cos, sin, n });
    }
    return e;
  }
}

const tableCache = new RopeTableCache();

export function ropeRef(x: Float32Array, nHeads: number, positions: ArrayLike<number>, p: RopeParams): void {
  const headDim = p.headDim;
  const rotDim = p.rotDim ?? headDim;
  if (rotDim % 2 !== 0 || rotDim > headDim || rotDim < 0) {
    throw new RangeError(`rope: rotDim ${rotDim} must be even and <= headDim ${headDim}`);
  }
  const half = rotDim >> 1;
  // Cached tables are indexed by position; per-call tables by token.
  const cached = tableCache.get(p, rotDim, positions);
  const { cos, sin } = cached ?? ropeTables(positions, p);
  const interleaved = p.layout === "interleaved";
  for (let t = 0; t < positions.length; t++) {
    const row = (cached ? positions[t] : t) * half;
    for (let h = 0; h < nHeads; h++) {
      const base = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[row + i];
        const s = sin[row + i];
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
