// gpu.js kernel sources. gpu.js compiles each function's source text to WGSL (webgpu),
// GLSL (headless-gl) or JavaScript (cpu mode), so these are plain `function`s with no
// closures: shapes come in as `this.constants` (baked into the shader, one compiled kernel
// per shape), per-call values as number arguments. Every output is 1-D; thread.x is the
// flat index of the output element. All inputs reach a shader as f32, so packed integer
// codes stay below 2^24 (pack.ts). Each kernel mirrors one ReferenceBackend op.

/* eslint-disable @typescript-eslint/no-explicit-any */
interface K {
  readonly thread: { readonly x: number };
  readonly constants: any;
}

/** out (nTokens, rows) = x (nTokens, cols) · Wᵀ, W f32 (rows, cols). */
export function matmulF32(this: K, w: number[], x: number[]): number {
  const rows = this.constants.rows;
  const cols = this.constants.cols;
  const t = Math.floor(this.thread.x / rows);
  const r = this.thread.x - t * rows;
  let sum = 0;
  for (let i = 0; i < cols; i++) sum += w[r * cols + i] * x[t * cols + i];
  return sum;
}

/**
 * Q8_0 rows packed as 12 floats per 32-weight block: [d, p0 .. p10], each p holding three
 * unsigned bytes b0 + 256 b1 + 65536 b2 of the int8 codes (two's complement), weight order.
 */
export function matmulQ8_0(this: K, w: number[], x: number[]): number {
  const rows = this.constants.rows;
  const cols = this.constants.cols;
  const nBlocks = this.constants.nBlocks;
  const t = Math.floor(this.thread.x / rows);
  const r = this.thread.x - t * rows;
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const base = (r * nBlocks + b) * 12;
    const xBase = t * cols + b * 32;
    let blockSum = 0;
    for (let e = 0; e < 11; e++) {
      let p = w[base + 1 + e];
      for (let k = 0; k < 3; k++) {
        const idx = e * 3 + k;
        const byte = p - Math.floor(p / 256) * 256;
        p = Math.floor(p / 256);
        if (idx < 32) {
          let code = byte;
          if (code >= 128) code = code - 256;
          blockSum += code * x[xBase + idx];
        }
      }
    }
    sum += w[base] * blockSum;
  }
  return sum;
}

/**
 * Q4_0 rows packed as 7 floats per 32-weight block: [d, p0 .. p5], each p holding six
 * 4-bit codes c0 + 16 c1 + ... + 16^5 c5 in weight order; the weight is (c - 8) * d.
 */
export function matmulQ4_0(this: K, w: number[], x: number[]): number {
  const rows = this.constants.rows;
  const cols = this.constants.cols;
  const nBlocks = this.constants.nBlocks;
  const t = Math.floor(this.thread.x / rows);
  const r = this.thread.x - t * rows;
  let sum = 0;
  for (let b = 0; b < nBlocks; b++) {
    const base = (r * nBlocks + b) * 7;
    const xBase = t * cols + b * 32;
    let blockSum = 0;
    for (let e = 0; e < 6; e++) {
      let p = w[base + 1 + e];
      for (let k = 0; k < 6; k++) {
        const idx = e * 6 + k;
        const code = p - Math.floor(p / 16) * 16;
        p = Math.floor(p / 16);
        if (idx < 32) blockSum += (code - 8) * x[xBase + idx];
      }
    }
    sum += w[base] * blockSum;
  }
  return sum;
}

/** Copy rows [r0, r0 + partRows) of a (nTokens, rows) result from a chunk's (nTokens, partRows). */
export function placeRows(this: K, acc: number[], part: number[]): number {
  const rows = this.constants.rows;
  const r0 = this.constants.r0;
  const partRows = this.constants.partRows;
  const t = Math.floor(this.thread.x / rows);
  const r = this.thread.x - t * rows;
  if (r >= r0 && r < r0 + partRows) return part[t * partRows + (r - r0)];
  return acc[this.thread.x];
}

/** out (nRows, dim) = x / sqrt(mean(x²) + eps) * weight, the row's sum recomputed per element. */
export function rmsNorm(this: K, x: number[], weight: number[], eps: number): number {
  const dim = this.constants.dim;
  const row = Math.floor(this.thread.x / dim);
  const i = this.thread.x - row * dim;
  let ss = 0;
  for (let j = 0; j < dim; j++) {
    const v = x[row * dim + j];
    ss += v * v;
  }
  const inv = 1 / Math.sqrt(ss / dim + eps);
  return x[this.thread.x] * inv * weight[i];
}

/**
 * RoPE on x (nTokens, nHeads, headDim) with cos/sin tables (nTokens, rotDim/2) built on the
 * host in f64 (f32 angles lose precision at large positions). interleaved: pairs (2i, 2i+1);
 * otherwise NeoX pairs (i, i + rotDim/2). Dimensions >= rotDim pass through.
 */
export function rope(this: K, x: number[], cos: number[], sin: number[]): number {
  const headDim = this.constants.headDim;
  const nHeads = this.constants.nHeads;
  const half = this.constants.half;
  const interleaved = this.constants.interleaved;
  const idx = this.thread.x;
  const t = Math.floor(idx / (nHeads * headDim));
  const d = idx - Math.floor(idx / headDim) * headDim;
  if (d >= half * 2) return x[idx];
  let i = 0;
  let first = 1;
  if (interleaved > 0) {
    i = Math.floor(d / 2);
    if (d - i * 2 === 1) first = 0;
  } else {
    i = d;
    if (d >= half) {
      i = d - half;
      first = 0;
    }
  }
  const c = cos[t * half + i];
  const s = sin[t * half + i];
  let partnerOffset = 1;
  if (interleaved === 0) partnerOffset = half;
  if (first === 1) return x[idx] * c - x[idx + partnerOffset] * s;
  return x[idx - partnerOffset] * s + x[idx] * c;
}

/**
 * Attention scores (nTokens, nHeads, nCtx): q·k * scale for cache rows j <= pos0 + t, and a
 * -3e38 mask beyond (the causal tail and the unfilled cache). GQA: head h reads KV head h / group.
 */
export function attnScores(this: K, q: number[], kCache: number[], pos0: number, scale: number): number {
  const nCtx = this.constants.nCtx;
  const nHeads = this.constants.nHeads;
  const headDim = this.constants.headDim;
  const kvDim = this.constants.kvDim;
  const group = this.constants.group;
  const j = this.thread.x - Math.floor(this.thread.x / nCtx) * nCtx;
  const th = Math.floor(this.thread.x / nCtx);
  const t = Math.floor(th / nHeads);
  const h = th - t * nHeads;
  if (j > pos0 + t) return -3e38;
  const qOff = th * headDim;
  const kOff = j * kvDim + Math.floor(h / group) * headDim;
  let s = 0;
  for (let d = 0; d < headDim; d++) s += q[qOff + d] * kCache[kOff + d];
  return s * scale;
}

/** Per score row (nTokens * nHeads rows of nCtx): element 2r = row max, 2r + 1 = Σ exp(s - max). */
export function attnRowStats(this: K, scores: number[], pos0: number): number {
  const nCtx = this.constants.nCtx;
  const nHeads = this.constants.nHeads;
  const row = Math.floor(this.thread.x / 2);
  const want = this.thread.x - row * 2;
  const t = Math.floor(row / nHeads);
  const n = pos0 + t + 1;
  let max = -3e38;
  for (let j = 0; j < nCtx; j++) {
    if (j < n) max = Math.max(max, scores[row * nCtx + j]);
  }
  if (want === 0) return max;
  let sum = 0;
  for (let j = 0; j < nCtx; j++) {
    if (j < n) sum += Math.exp(scores[row * nCtx + j] - max);
  }
  return sum;
}

/** out (nTokens, nHeads, headDim) = Σ_j softmax(scores)_j · v[j] over the causal rows. */
export function attnOutput(this: K, scores: number[], stats: number[], vCache: number[], pos0: number): number {
  const nCtx = this.constants.nCtx;
  const nHeads = this.constants.nHeads;
  const headDim = this.constants.headDim;
  const kvDim = this.constants.kvDim;
  const group = this.constants.group;
  const row = Math.floor(this.thread.x / headDim); // t * nHeads + h
  const d = this.thread.x - row * headDim;
  const t = Math.floor(row / nHeads);
  const h = row - t * nHeads;
  const n = pos0 + t + 1;
  const max = stats[row * 2];
  const inv = 1 / stats[row * 2 + 1];
  const vOff = Math.floor(h / group) * headDim + d;
  let acc = 0;
  for (let j = 0; j < nCtx; j++) {
    if (j < n) acc += Math.exp(scores[row * nCtx + j] - max) * vCache[j * kvDim + vOff];
  }
  return acc * inv;
}

/** The cache (nCtx, kvDim) with rows [pos0, pos0 + nTokens) replaced by `rows` (nTokens, kvDim). */
export function kvWrite(this: K, cache: number[], rows: number[], pos0: number): number {
  const kvDim = this.constants.kvDim;
  const nTokens = this.constants.nTokens;
  const start = pos0 * kvDim;
  const i = this.thread.x;
  if (i >= start && i < start + nTokens * kvDim) return rows[i - start];
  return cache[i];
}

/** silu(gate) * up, elementwise. */
export function swiglu(this: K, gate: number[], up: number[]): number {
  const g = gate[this.thread.x];
  return (g / (1 + Math.exp(-g))) * up[this.thread.x];
}

/** a + scale * b, elementwise (residual adds use scale 1; runtime LoRA deltas their own). */
export function axpy(this: K, a: number[], b: number[], scale: number): number {
  return a[this.thread.x] + scale * b[this.thread.x];
}

/** x[offset .. offset + n): one row out of a batch (the last token's hidden state). */
export function slice(this: K, x: number[], offset: number): number {
  return x[offset + this.thread.x];
}
