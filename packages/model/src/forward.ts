// The LLaMA forward pass as a plain function: forward(weights, state, tokens, pos) -> logits.
// Per layer: RMSNorm -> Q/K/V -> RoPE (interleaved pairs, GGUF layout) -> causal GQA
// attention over the KV cache -> output projection -> residual -> RMSNorm -> SwiGLU FFN
// -> residual; then the final RMSNorm and lm_head. A prompt of n tokens goes through in
// passes of up to state.maxBatch tokens (matrix-matrix products); decoding is n = 1.

import { LlamatsError, type RopeParams } from "@llamats/tensor";
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

/**
 * Run tokens at positions pos .. pos + n - 1, writing their keys/values into the cache.
 * pos must not exceed the number of positions the cache holds (a smaller pos overwrites
 * the tail). Returns logits as opts.logits says.
 */
export function forward(weights: LlamaWeights, state: RunState, tokens: Int32Array | readonly number[],
  pos: number, opts: ForwardOptions = {}): Float32Array {
  const cfg = weights.config;
  const n = tokens.length;
  if (n === 0) throw new LlamatsError("forward: no tokens");
  checkShapes(weights, state);
  const cache = state.cache;
  cache.checkRoom(pos, n);
  for (let i = 0; i < n; i++) {
    const id = tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) {
      throw new LlamatsError(`forward: token id ${id} at index ${i} is outside the vocabulary (0 .. ${cfg.vocabSize - 1})`);
    }
  }
  const mode = opts.logits ?? "last";
  const captured: Captured = {};
  if (opts.capture?.hidden) {
    captured.layerOut = new Float32Array(cfg.nLayers * n * cfg.dim);
    captured.hiddenFinal = new Float32Array(n * cfg.dim);
  }
  if (opts.capture?.attention) {
    captured.attention = Array.from({ length: cfg.nLayers }, () => new Float32Array(n * cfg.nHeads * (pos + n)));
  }
  state.captured = captured;
  const allLogits = mode === "all" ? new Float32Array(n * cfg.vocabSize) : undefined;
  // The RoPE base is chosen once for the whole call (NTK "auto" depends on the final length).
  const rope = ropeParamsFor(cfg, pos + n);

  for (let start = 0; start < n; start += state.maxBatch) {
    const nb = Math.min(state.maxBatch, n - start);
    runChunk(weights, state, tokens, start, nb, pos, n, rope, captured);
    cache.commit(pos + start + nb);
    const isLast = start + nb === n;
    if (allLogits) {
      linear(state, allLogits.subarray(start * cfg.vocabSize), weights.output, state.x, nb);
    } else if (mode === "last" && isLast) {
      linear(state, state.logits, weights.output, state.x.subarray((nb - 1) * cfg.dim), 1);
    }
  }
  if (allLogits) return allLogits;
  return mode === "last" ? state.logits : new Float32Array(0);
}

/** One pass over tokens[start .. start+nb) at positions pos+start ..; leaves the final-normed hidden states in state.x. */
function runChunk(weights: LlamaWeights, state: RunState, tokens: Int32Array | readonly number[], start: number, nb: number,
  pos: number, nTotal: number, rope: RopeParams, captured: Captured): void {
  const cfg = weights.config;
  const be = state.backend;
  const { dim, nHeads, nKvHeads, headDim, ffnDim, rmsNormEps: eps } = cfg;
  const qDim = nHeads * headDim;
  const kvDim = nKvHeads * headDim;
  const p0 = pos + start; // position of this chunk's first token
  const x = state.x.subarray(0, nb * dim); // (nb, dim)
  const xb = state.xb.subarray(0, nb * dim); // (nb, dim)
  const q = state.q.subarray(0, nb * qDim); // (nb, nHeads, headDim)
  const k = state.k.subarray(0, nb * kvDim); // (nb, nKvHeads, headDim)
  const v = state.v.subarray(0, nb * kvDim);
  const attnOut = state.attnOut.subarray(0, nb * qDim);
  const hb = state.hb.subarray(0, nb * ffnDim); // (nb, ffnDim)
  const hb2 = state.hb2.subarray(0, nb * ffnDim);
  const positions = new Int32Array(nb);
  for (let i = 0; i < nb; i++) positions[i] = p0 + i;
  const ids = Array.from({ length: nb }, (_, i) => tokens[start + i]);
  const kvLenAll = pos + nTotal;
  let probs: Float32Array | undefined;
  if (captured.attention) probs = new Float32Array(nb * nHeads * (p0 + nb)); // (nb, nHeads, p0 + nb)

  be.embedding(x, weights.tokenEmbd, ids);
  for (let l = 0; l < cfg.nLayers; l++) {
    const L = weights.layers[l];
    // Attention block.
    be.rmsNorm(xb, x, L.attnNorm, dim, eps);
    linear(state, q, L.attnQ, xb, nb);
    linear(state, k, L.attnK, xb, nb);
    linear(state, v, L.attnV, xb, nb);
    be.rope(q, nHeads, positions, rope);
    be.rope(k, nKvHeads, positions, rope);
    state.cache.write(l, p0, k, v, nb);
    be.attention(attnOut, q, state.cache.layerK(l), state.cache.layerV(l),
      { nTokens: nb, pos0: p0, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) }, probs);
    if (probs) {
      // Rows of this chunk into the (nTotal, nHeads, kvLenAll) capture; the causal tail stays 0.
      const dst = captured.attention![l];
      const kvLen = p0 + nb;
      for (let r = 0; r < nb * nHeads; r++) {
        dst.set(probs.subarray(r * kvLen, (r + 1) * kvLen), (start * nHeads + r) * kvLenAll);
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
    if (captured.layerOut) captured.layerOut.set(x, (l * nTotal + start) * dim);
  }
  be.rmsNorm(x, x, weights.outputNorm, dim, eps);
  if (captured.hiddenFinal) captured.hiddenFinal.set(x, start * dim);
}

/** The run state's buffers must have been sized for these weights (RoPE scaling may differ). */
function checkShapes(weights: LlamaWeights, state: RunState): void {
  const a = weights.config;
  const b = state.config;
  for (const k of ["dim", "nLayers", "nHeads", "nKvHeads", "headDim", "ffnDim", "vocabSize"] as const) {
    if (a[k] !== b[k]) throw new LlamatsError(`forward: the run state was built for ${k} ${b[k]}, the weights have ${a[k]}`);
  }
}
