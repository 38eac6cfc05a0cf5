// The logits processors of Hugging Face's sampling, as composable steps over a full-vocabulary
// score vector (vocab,) in float32. A removed token holds -Infinity, as HF's masked_fill does,
// so the steps compose in any order and the final draw sees exactly HF's candidate set.
// Order used by generate (HF's, as inference_hf.py runs it): penalties -> temperature ->
// top-k -> top-p -> draw (CHINESE-LLAMA-ALPACA.md §4). The arithmetic is PyTorch's float32
// (the penalty and temperature rounded to float32 first, one rounding per operation), so the
// processed scores equal the reference's bit for bit (fixtures/sampling/goldens.json).

const f32 = Math.fround;

/**
 * HF RepetitionPenaltyLogitsProcessor: every id that occurs anywhere in `history` (prompt and
 * generated tokens alike) gets s < 0 ? s * p : s / p, once, however often it occurs.
 */
export function applyRepetitionPenalty(scores: Float32Array, history: ArrayLike<number>, penalty: number): void {
  if (penalty === 1) return;
  const p = f32(penalty);
  const seen = new Set<number>();
  for (let i = 0; i < history.length; i++) {
    const id = history[i];
    if (id < 0 || id >= scores.length || seen.has(id)) continue;
    seen.add(id);
    const s = scores[id];
    scores[id] = s < 0 ? s * p : s / p;
  }
}

/**
 * llama.cpp's frequency and presence penalties (llama_sampler_penalties): an id that occurs
 * c > 0 times in `history` loses c * frequency + presence. OpenAI defines the same terms.
 */
export function applyFrequencyPresencePenalty(scores: Float32Array, history: ArrayLike<number>, frequency: number, presence: number): void {
  if (frequency === 0 && presence === 0) return;
  const counts = new Map<number, number>();
  for (let i = 0; i < history.length; i++) {
    const id = history[i];
    if (id >= 0 && id < scores.length) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const f = f32(frequency);
  const pr = f32(presence);
  for (const [id, c] of counts) scores[id] = scores[id] - f32(f32(c * f) + pr);
}

/**
 * The ids the penalties look at: the last `lastN` of the sequence (llama.cpp's
 * repeat_last_n); lastN < 0 means the whole sequence (HF's rule), 0 none.
 */
export function penaltyWindow(history: ArrayLike<number>, lastN: number): ArrayLike<number> {
  if (lastN < 0 || lastN >= history.length) return history;
  if (lastN === 0) return [];
  return Array.prototype.slice.call(history, history.length - lastN) as number[];
}

/** HF TemperatureLogitsWarper: scores / t in float32 (t > 0; greedy decoding handles t = 0). */
export function applyTemperature(scores: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  // A division, not a product with 1/t: float32 s / t rounds differently from s * (1/t).
  const t = f32(temperature);
  for (let i = 0; i < scores.length; i++) scores[i] = scores[i] / t;
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
  const { order, cumulative } = topPCumulative(scores);
  const removed = topPRemovedCount(cumulative, p, minKeep);
  for (let j = 0; j < removed; j++) scores[order[j]] = -Infinity;
}

/**
 * The finite tokens in ascending order of score and their running probability sums, as
 * PyTorch computes them for HF: float32 softmax (exp(x - max) times 1 / sum), the sums
 * accumulated in double and rounded to float32 at every prefix. PyTorch's sort is not
 * stable, so among tied scores HF removes an arbitrary one first; ties here go by
 * descending id (the lower id sits later and is kept first), a kept set independent of the
 * sort's stability.
 */
export function topPCumulative(scores: Float32Array): { order: number[]; cumulative: Float32Array } {
  const order = finiteIndices(scores);
  order.sort((x, y) => scores[x] - scores[y] || y - x);
  const probs = softmaxOf(scores, order);
  const cumulative = new Float32Array(order.length);
  let cum = 0;
  for (let j = 0; j < order.length; j++) cumulative[j] = cum += probs[j];
  return { order, cumulative };
}

/**
 * HF's rule over ascending cumulative sums: how many of the least likely go, namely those
 * with cumsum <= 1 - p (1 - p rounded to float32, as PyTorch compares), so a sum landing
 * exactly on 1 - p is removed; the last `minKeep` always stay.
 */
export function topPRemovedCount(cumulative: ArrayLike<number>, p: number, minKeep = 1): number {
  const cut = f32(1 - p);
  const limit = Math.max(0, cumulative.length - minKeep);
  let n = 0;
  while (n < limit && cumulative[n] <= cut) n++; // the sums only grow
  return n;
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

/** float32 softmax of the scores in `order` (PyTorch's: exp(x - max) each, times 1 / sum). */
function softmaxOf(scores: Float32Array, order: number[]): Float32Array {
  const probs = new Float32Array(order.length);
  if (order.length === 0) return probs;
  const max = scores[order[order.length - 1]];
  let sum = 0;
  for (let j = 0; j < order.length; j++) {
    probs[j] = Math.exp(f32(scores[order[j]] - max));
    sum += probs[j];
  }
  const inv = f32(1 / f32(sum));
  for (let j = 0; j < order.length; j++) probs[j] *= inv;
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
