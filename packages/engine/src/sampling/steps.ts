// The logits processors of Hugging Face's sampling, as composable steps over a full-vocabulary
// score vector (vocab,) in float32. A removed token holds -Infinity, as HF's masked_fill does,
// so the steps compose in any order and the final draw sees exactly HF's candidate set.
// Order used by generate (HF's, as inference_hf.py runs it): repetition penalty ->
// temperature -> top-k -> top-p -> draw (CHINESE-LLAMA-ALPACA.md §4).

/**
 * HF RepetitionPenaltyLogitsProcessor: every id that occurs anywhere in `history` (prompt and
 * generated tokens alike) gets s < 0 ? s * p : s / p, once, however often it occurs.
 */
export function applyRepetitionPenalty(scores: Float32Array, history: ArrayLike<number>, penalty: number): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (let i = 0; i < history.length; i++) {
    const id = history[i];
    if (id < 0 || id >= scores.length || seen.has(id)) continue;
    seen.add(id);
    const s = scores[id];
    scores[id] = s < 0 ? s * penalty : s / penalty;
  }
}

/** HF TemperatureLogitsWarper: scores / t (t > 0; greedy decoding handles t = 0). */
export function applyTemperature(scores: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  const inv = 1 / temperature;
  for (let i = 0; i < scores.length; i++) scores[i] *= inv;
}

/**
 * HF TopKLogitsWarper: remove every score strictly below the k-th largest, so tokens tied
 * with the k-th are all kept (the kept set may exceed k). k <= 0 disables the step.
 */
export function applyTopK(scores: Float32Array, k: number, minKeep = 1): void {
  const n = scores.length;
  if (k <= 0) return;
  k = Math.min(Math.max(k, minKeep), n);
  if (k >= n) return;
  const threshold = kthLargest(scores, k);
  for (let i = 0; i < n; i++) if (scores[i] < threshold) scores[i] = -Infinity;
}

/**
 * HF TopPLogitsWarper: sort ascending, take softmax, and remove the tokens whose ascending
 * cumulative probability is <= 1 - p; the most likely `minKeep` tokens always stay.
 * p >= 1 disables the step.
 */
export function applyTopP(scores: Float32Array, p: number, minKeep = 1): void {
  if (p >= 1) return;
  const order = finiteIndices(scores);
  // Ascending by score; ties broken by descending id so that among equal scores the lower id
  // sits later (kept first), which makes the kept set independent of sort stability.
  order.sort((x, y) => scores[x] - scores[y] || y - x);
  const probs = softmaxOf(scores, order);
  const cut = 1 - p;
  let cum = 0;
  const keepFrom = Math.max(0, order.length - minKeep);
  for (let j = 0; j < order.length; j++) {
    cum += probs[j];
    if (cum <= cut && j < keepFrom) scores[order[j]] = -Infinity;
  }
}

/** Probabilities (float64) of the finite scores, zero elsewhere; sums to 1 if any is finite. */
export function softmax(scores: Float32Array): Float64Array {
  const out = new Float64Array(scores.length);
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  if (max === -Infinity || Number.isNaN(max)) return out;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s === -Infinity || Number.isNaN(s)) continue;
    const e = Math.exp(s - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Index of the largest score (first on ties; NaN never wins); -1 for an all -Inf vector. */
export function argmax(scores: Float32Array): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > bestScore) {
      bestScore = scores[i];
      best = i;
    }
  }
  return best;
}

function finiteIndices(scores: Float32Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] !== -Infinity && !Number.isNaN(scores[i])) idx.push(i);
  return idx;
}

function softmaxOf(scores: Float32Array, order: number[]): Float64Array {
  const probs = new Float64Array(order.length);
  if (order.length === 0) return probs;
  const max = scores[order[order.length - 1]];
  let sum = 0;
  for (let j = 0; j < order.length; j++) {
    probs[j] = Math.exp(scores[order[j]] - max);
    sum += probs[j];
  }
  for (let j = 0; j < order.length; j++) probs[j] /= sum;
  return probs;
}

/** The k-th largest value (1-based) of the scores; NaN counts as -Infinity. */
function kthLargest(scores: Float32Array, k: number): number {
  // A min-heap of the k largest seen so far: O(n log k), no copy of the whole vocabulary.
  const heap = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = Number.isNaN(scores[i]) ? -Infinity : scores[i];
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (heap[parent] <= heap[j]) break;
        [heap[parent], heap[j]] = [heap[j], heap[parent]];
        j = parent;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        const r = l + 1;
        let m = j;
        if (l < size && heap[l] < heap[m]) m = l;
        if (r < size && heap[r] < heap[m]) m = r;
        if (m === j) break;
        [heap[m], heap[j]] = [heap[j], heap[m]];
        j = m;
      }
    }
  }
  return heap[0];
}
