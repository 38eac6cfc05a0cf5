// The LLaMA forward pass as a plain function: forward(weights, state, tokens, pos) -> logits.
// Per layer: RMSNorm -> Q/K/V -> RoPE (interleaved pairs, GGUF layout) -> causal GQA
// attention over the KV cache -> output projection -> residual -> RMSNorm -> SwiGLU FFN
// -> residual; then the final RMSNorm and lm_head. A prompt of n tokens goes through in
// passes of up to state.maxBatch tokens (matrix-matrix products); decoding is n = 1.
//
// forwardBatch() runs tokens of several sequences (each with its own KV cache, at its own
// position) through the same passes: the linears run over all rows at once, so one step reads
// every weight once for all sequences; RoPE and attention run per sequence segment (its
// positions, its NTK base, its cache). forward() is forwardBatch() with one sequence.

import { LlamatsError, type RopeParams } from "@llamats/tensor";
import type { KVCache } from "./kv-cache.js";
import { linear } from "./linear.js";
import { ropeParamsFor } from "./rope-scaling.js";
import type { Captured, RunState } from "./state.js";
import type { LlamaWeights } from "./weights.js";

export interface ForwardOptions {
  /** Capture per-layer hidden states (+ final norm output) and/or attention weights into state.captured. */
  readonly capture?: { readonly hidden?: boolean; readonly attention?: boolean };
  /**
   * Which logits to compute: "last" (default) -> state.logits (vocab), valid until the next
   * call; "all" -> a new (nTokens, vocab) array; "none" -> an empty array (hidden states only).
   */
  readonly logits?: "last" | "all" | "none";
}

/** One sequence's share of a batched forward. */
export interface BatchItem {
  /** The sequence's KV cache (each item of a batch has its own). */
  readonly cache: KVCache;
  readonly tokens: Int32Array | readonly number[];
  /** Position of tokens[0]; at most what the cache holds (a smaller pos overwrites the tail). */
  readonly pos: number;
  /**
   * The sequence length that picks the RoPE base (NTK "auto"); default pos + tokens.length.
   * A caller that feeds one prompt in several calls passes the whole prompt's end here, so
   * the chunks rotate exactly as one call would.
   */
  readonly ropeLength?: number;
  /** "last" (default): logits (vocab) of the last token; "all": (nTokens, vocab); "none". */
  readonly logits?: "last" | "all" | "none";
  /** Also return the final-normed hidden states (nTokens, dim) (the lm_head input). */
  readonly hidden?: boolean;
}

export interface BatchResult {
  /** As the item's `logits` asked: (vocab), (nTokens, vocab) or empty. Owned by the caller. */
  readonly logits: Float32Array;
  /** (nTokens, dim) when the item asked for `hidden`. */
  readonly hidden?: Float32Array;
}

/**
 * Run tokens at positions pos .. pos + n - 1, writing their keys/values into state.cache.
 * pos must not exceed the number of positions the cache holds (a smaller pos overwrites
 * the tail). Returns logits as opts.logits says.
 */
export function forward(weights: LlamaWeights, state: RunState, tokens: Int32Array | readonly number[],
  pos: number, opts: ForwardOptions = {}): Float32Array {
  const cfg = weights.config;
  const n = tokens.length;
  const mode = opts.logits ?? "last";
  const item: BatchItem = { cache: state.cache, tokens, pos, logits: mode };
  checkItems(weights, state, [item]);
  const captured: Captured = {};
  if (opts.capture?.hidden) {
    captured.layerOut = new Float32Array(cfg.blockCount * n * cfg.embeddingLength);
    captured.hiddenFinal = new Float32Array(n * cfg.embeddingLength);
  }
  if (opts.capture?.attention) {
    captured.attention = Array.from({ length: cfg.blockCount }, () => new Float32Array(n * cfg.headCount * (pos + n)));
  }
  state.captured = captured;
  const out: ItemOutput = {
    logits: mode === "all" ? new Float32Array(n * cfg.vocabSize) : mode === "last" ? state.logits : new Float32Array(0),
    hidden: captured.hiddenFinal,
  };
  run(weights, state, [item], [out], captured);
  return out.logits;
}

/**
 * Run several sequences' tokens in shared passes of up to state.maxBatch rows (items in
 * order; a long item is split across passes). Every item needs its own cache. Each result
 * is what forward() would return for that item alone on the reference backend, bit for bit
 * (faster backends may round differently for a matmul over 1 row and over several).
 */
export function forwardBatch(weights: LlamaWeights, state: RunState, items: readonly BatchItem[]): BatchResult[] {
  const cfg = weights.config;
  if (items.length === 0) return [];
  checkItems(weights, state, items);
  const outs: ItemOutput[] = items.map((it) => {
    const n = it.tokens.length;
    const mode = it.logits ?? "last";
    return {
      logits: new Float32Array(mode === "all" ? n * cfg.vocabSize : mode === "last" ? cfg.vocabSize : 0),
      hidden: it.hidden ? new Float32Array(n * cfg.embeddingLength) : undefined,
    };
  });
  state.captured = {};
  run(weights, state, items, outs, {});
  return outs;
}

interface ItemOutput {
  readonly logits: Float32Array;
  readonly hidden?: Float32Array;
}

/** A contiguous run of one item's tokens inside one pass. */
interface Segment {
  readonly item: number;
  /** Offset of the first token within the item's tokens. */
  readonly start: number;
  readonly n: number;
  /** Row of the first token within the pass. */
  readonly row: number;
  readonly rope: RopeParams;
}

function run(weights: LlamaWeights, state: RunState, items: readonly BatchItem[], outs: readonly ItemOutput[], captured: Captured): void {
  const cfg = weights.config;
  const dim = cfg.embeddingLength;
  const vocab = cfg.vocabSize;
  // The RoPE base is chosen once per item (NTK "auto" depends on its sequence's final length).
  const ropes = items.map((it) => ropeParamsFor(cfg, it.ropeLength ?? it.pos + it.tokens.length));
  let item = 0;
  let start = 0;
  while (item < items.length) {
    // Fill one pass with up to maxBatch rows, in item order.
    const segs: Segment[] = [];
    let rows = 0;
    while (item < items.length && rows < state.maxBatch) {
      const it = items[item];
      const n = Math.min(it.tokens.length - start, state.maxBatch - rows);
      segs.push({ item, start, n, row: rows, rope: ropes[item] });
      rows += n;
      start += n;
      if (start === it.tokens.length) {
        item++;
        start = 0;
      }
    }
    runPass(weights, state, items, segs, rows, captured);
    // Outputs of this pass; the final-normed hidden states are in state.x.
    const lastRows: { row: number; dst: Float32Array }[] = [];
    for (const s of segs) {
      const it = items[s.item];
      const out = outs[s.item];
      it.cache.commit(it.pos + s.start + s.n);
      const x = state.x.subarray(s.row * dim);
      if (out.hidden) out.hidden.set(x.subarray(0, s.n * dim), s.start * dim);
      const mode = it.logits ?? "last";
      if (mode === "all") linear(state, out.logits.subarray(s.start * vocab), weights.output, x, s.n);
      else if (mode === "last" && s.start + s.n === it.tokens.length) lastRows.push({ row: s.row + s.n - 1, dst: out.logits });
    }
    lastLogits(weights, state, lastRows);
  }
}

/** lm_head over the last rows of the items that ended in this pass, as one product. */
function lastLogits(weights: LlamaWeights, state: RunState, lastRows: readonly { row: number; dst: Float32Array }[]): void {
  const { embeddingLength: dim, vocabSize } = weights.config;
  if (lastRows.length === 0) return;
  if (lastRows.length === 1) {
    // One row: exactly the single-sequence call (a 1-token product).
    linear(state, lastRows[0].dst, weights.output, state.x.subarray(lastRows[0].row * dim), 1);
    return;
  }
  const k = lastRows.length;
  const gathered = state.xb; // free once the pass is done
  lastRows.forEach((r, i) => gathered.set(state.x.subarray(r.row * dim, (r.row + 1) * dim), i * dim));
  if (state.batchLogits.length < k * vocabSize) state.batchLogits = state.backend.allocF32(state.maxBatch * vocabSize);
  linear(state, state.batchLogits, weights.output, gathered, k);
  lastRows.forEach((r, i) => r.dst.set(state.batchLogits.subarray(i * vocabSize, (i + 1) * vocabSize)));
}

/** One pass over the segments' rows; leaves the final-normed hidden states in state.x. */
function runPass(weights: LlamaWeights, state: RunState, items: readonly BatchItem[], segs: readonly Segment[], nb: number,
  captured: Captured): void {
  const cfg = weights.config;
  const be = state.backend;
  const { embeddingLength: dim, headCount: nHeads, headCountKv: nKvHeads, keyLength: headDim, feedForwardLength: ffnDim, layerNormRmsEpsilon: eps } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const x = state.x.subarray(0, nb * dim); // (nb, dim)
  const xb = state.xb.subarray(0, nb * dim); // (nb, dim)
  const q = state.q.subarray(0, nb * qDim); // (nb, nHeads, headDim)
  const k = state.k.subarray(0, nb * kvDim); // (nb, nKvHeads, headDim)
  const v = state.v.subarray(0, nb * kvDim);
  const attnOut = state.attnOut.subarray(0, nb * qDim);
  const hb = state.hb.subarray(0, nb * ffnDim); // (nb, ffnDim)
  const hb2 = state.hb2.subarray(0, nb * ffnDim);
  const ids = new Array<number>(nb);
  const positions = segs.map((s) => {
    const it = items[s.item];
    const p = new Int32Array(s.n);
    for (let i = 0; i < s.n; i++) {
      p[i] = it.pos + s.start + i;
      ids[s.row + i] = it.tokens[s.start + i];
    }
    return p;
  });
  // Attention weights are captured only by forward() (one item, so one segment per pass).
  const cap = captured.attention ? segs[0] : undefined;
  const capPos0 = cap ? items[0].pos + cap.start : 0;
  const kvLenAll = cap ? items[0].pos + items[0].tokens.length : 0;
  const nTotal = items.length === 1 ? items[0].tokens.length : 0;
  let probs: Float32Array | undefined;
  if (cap) probs = new Float32Array(nb * nHeads * (capPos0 + nb)); // (nb, nHeads, p0 + nb)

  be.embedding(x, weights.tokenEmbd, ids);
  for (let l = 0; l < cfg.blockCount; l++) {
    const L = weights.layers[l];
    // Attention block.
    be.rmsNorm(xb, x, L.attnNorm, dim, eps);
    linear(state, q, L.attnQ, xb, nb);
    linear(state, k, L.attnK, xb, nb);
    linear(state, v, L.attnV, xb, nb);
    segs.forEach((s, i) => {
      const cache = items[s.item].cache;
      const p0 = positions[i][0];
      const qs = q.subarray(s.row * qDim, (s.row + s.n) * qDim);
      const ks = k.subarray(s.row * kvDim, (s.row + s.n) * kvDim);
      be.rope(qs, nHeads, positions[i], s.rope);
      be.rope(ks, nKvHeads, positions[i], s.rope);
      cache.write(l, p0, ks, v.subarray(s.row * kvDim), s.n);
      be.attention(attnOut.subarray(s.row * qDim), qs, cache.layerK(l), cache.layerV(l),
        { nTokens: s.n, pos0: p0, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) }, probs);
    });
    if (probs && cap) {
      // Rows of this chunk into the (nTotal, nHeads, kvLenAll) capture; the causal tail stays 0.
      const dst = captured.attention![l];
      const kvLen = capPos0 + nb;
      for (let r = 0; r < nb * nHeads; r++) {
        dst.set(probs.subarray(r * kvLen, (r + 1) * kvLen), (cap.start * nHeads + r) * kvLenAll);
      }
    }
    linear(state, xb, L.attnOutput, attnOut, nb);
    be.add(x, x, xb);
    // Feed-forward block: down(silu(gate x) * up x).
    be.rmsNorm(xb, x, L.ffnNorm, dim, eps);
    linear(state, hb, L.ffnGate, xb, nb);
    linear(state, hb2, L.ffnUp, xb, nb);
    be.swiglu(hb, hb, hb2);
    linear(state, xb, L.ffnDown, hb, nb);
    be.add(x, x, xb);
    if (captured.layerOut) captured.layerOut.set(x, (l * nTotal + segs[0].start) * dim);
  }
  be.rmsNorm(x, x, weights.outputNorm, dim, eps);
  if (captured.hiddenFinal) captured.hiddenFinal.set(x, segs[0].start * dim);
}

/** Shapes, ids and cache room of every item, before anything is written. */
function checkItems(weights: LlamaWeights, state: RunState, items: readonly BatchItem[]): void {
  checkShapes(weights, state);
  const cfg = weights.config;
  const seen = new Set<KVCache>();
  items.forEach((it, j) => {
    const where = items.length > 1 ? ` (batch item ${j})` : "";
    const n = it.tokens.length;
    if (n === 0) throw new LlamatsError(`forward: no tokens${where}`);
    if (seen.has(it.cache)) throw new LlamatsError(`forward: batch item ${j} uses a KV cache another item already uses (one item per sequence)`);
    seen.add(it.cache);
    if (it.cache.nLayers !== cfg.blockCount || it.cache.kvDim !== cfg.headCountKv * cfg.keyLength) {
      throw new LlamatsError(`forward: the KV cache${where} has (${it.cache.nLayers} layers, kvDim ${it.cache.kvDim}), the model needs (${cfg.blockCount}, ${cfg.headCountKv * cfg.keyLength})`);
    }
    it.cache.checkRoom(it.pos, n);
    for (let i = 0; i < n; i++) {
      const id = it.tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) {
        throw new LlamatsError(`forward: token id ${id} at index ${i}${where} is outside the vocabulary (0 .. ${cfg.vocabSize - 1})`);
      }
    }
  });
}

/** The run state's buffers must have been sized for these weights (RoPE scaling may differ). */
function checkShapes(weights: LlamaWeights, state: RunState): void {
  const a = weights.config;
  const b = state.config;
  for (const k of ["embeddingLength", "blockCount", "headCount", "headCountKv", "keyLength", "feedForwardLength", "vocabSize"] as const) {
    if (a[k] !== b[k]) throw new LlamatsError(`forward: the run state was built for ${k} ${b[k]}, the weights have ${a[k]}`);
  }
}
