// Elementwise ops. Lengths follow `out`.

export function addRef(out: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/** x * sigmoid(x), written so that large |x| neither overflows nor gives NaN. */
export function siluScalar(x: number): number {
  return x >= 0 ? x / (1 + Math.exp(-x)) : (x * Math.exp(x)) / (1 + Math.exp(x));
}

export function swigluRef(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  // silu rounded to f32 first, as PyTorch does (act_fn(gate) is a tensor before the product).
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(siluScalar(gate[i])) * up[i];
}
