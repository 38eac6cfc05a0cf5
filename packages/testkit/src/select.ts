// Selections over logits for tests that compare rankings (golden argmax / top-k). The engine's
// sampler has its own; these are the plain definitions the conformance tests state.

/** Index of the largest element; first on ties; NaN never wins; 0 for an empty or all-NaN x. */
export function argmax(x: Float32Array): number {
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
export function topK(x: Float32Array, k: number): { indices: Int32Array; values: Float32Array } {
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

/**
 * Largest |a[i] - b[i]| over the first n elements (default: all, and then lengths must agree,
 * else Infinity). A NaN anywhere gives NaN, so a bound check on it fails.
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, n?: number): number {
  if (n === undefined && a.length !== b.length) return Infinity;
  const count = n ?? a.length;
  let m = 0;
  for (let i = 0; i < count; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}
