// RMSNorm and softmax, row by row, with f64 sums.

/** Per row of `dim`: out = x / sqrt(mean(x²) + eps) * weight. x, out: (nRows, dim). */
export function rmsNormRef(out: Float32Array, x: Float32Array, weight: Float32Array, dim: number, eps: number): void {
  const nRows = Math.floor(x.length / dim);
  for (let r = 0; r < nRows; r++) {
    const off = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[off + i] * x[off + i];
    // PyTorch/llama.cpp compute the mean and the reciprocal root in f32; rounding them to
    // f32 here keeps us a rounding step closer to both.
    const inv = Math.fround(1 / Math.sqrt(Math.fround(ss / dim) + eps));
    for (let i = 0; i < dim; i++) out[off + i] = Math.fround(x[off + i] * inv) * weight[i];
  }
}

/** Softmax of x[off .. off + n) in place. Returns the (f64) sum of exponentials. */
export function softmaxRow(x: Float32Array, off: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[off + i];
    if (v > max && v !== Infinity) max = v;
  }
  if (max === -Infinity) {
    // No finite entry (fully masked, or all NaN/Inf): zeros rather than NaN.
    x.fill(0, off, off + n);
    return 0;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = x[off + i];
    // +Inf or NaN entries cannot be weighed against finite ones; they get weight 0.
    const e = v === Infinity || Number.isNaN(v) ? 0 : Math.exp(v - max);
    x[off + i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[off + i] *= inv;
  return sum;
}
