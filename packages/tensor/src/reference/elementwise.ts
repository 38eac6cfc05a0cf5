// Elementwise ops and selections. Lengths follow `out` (or `x`).

export function addRef(out: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

export function mulRef(out: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
}

/** x * sigmoid(x), written so that large |x| neither overflows nor gives NaN. */
export function siluScalar(x: number): number {
  return x >= 0 ? x / (1 + Math.exp(-x)) : (x * Math.exp(x)) / (1 + Math.exp(x));
}

export function siluRef(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] = siluScalar(x[i]);
}

export function swigluRef(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  // silu rounded to f32 first, as PyTorch does (act_fn(gate) is a tensor before the product).
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(siluScalar(gate[i])) * up[i];
}

/** Index of the largest element; first on ties; NaN never wins; 0 for an empty or all-NaN x. */
export function argmaxRef(x: Float32Array): number {
  let best = -1;
  let bestV = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v > bestV || (best < 0 && v === -Infinity)) {
      best = i;
      bestV = v;
    }
  }
  return best < 0 ? 0 : best;
}

/** The k largest (non-NaN) elements, descending; ties: lower index first. */
export function topKRef(x: Float32Array, k: number): { indices: Int32Array; values: Float32Array } {
  const n = Math.max(0, Math.min(k, x.length));
  if (n > 64) return topKBySort(x, n);
  // Keep a sorted buffer of the best n seen so far (insertion; k is small in practice).
  const idx = new Int32Array(n);
  const val = new Float32Array(n);
  let filled = 0;
  for (let i = 0; i < x.length && n > 0; i++) {
    const v = x[i];
    if (Number.isNaN(v)) continue;
    if (filled === n && !(v > val[n - 1])) continue; // strict: earlier index wins a tie
    let j = filled < n ? filled++ : n - 1;
    while (j > 0 && v > val[j - 1]) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return { indices: idx.slice(0, filled), values: val.slice(0, filled) };
}

function topKBySort(x: Float32Array, n: number): { indices: Int32Array; values: Float32Array } {
  const order: number[] = [];
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) order.push(i);
  order.sort((a, b) => (x[b] - x[a]) || a - b);
  const m = Math.min(n, order.length);
  const indices = new Int32Array(m);
  const values = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    indices[i] = order[i];
    values[i] = x[order[i]];
  }
  return { indices, values };
}
