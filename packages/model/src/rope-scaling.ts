// The RoPE base and frequency scale in effect for one forward call.
//
// NTK "auto" follows Chinese-LLaMA-Alpaca's inference/patches.py: for a sequence of seqLen
// tokens (everything cached plus this call's tokens), alpha = (seqLen/1024 - 1) * 1.1 once
// seqLen exceeds the training context, else the plain base. The base is chosen per call,
// for the whole call: a prefill of 2304 tokens rotates all of them with the 2304-token base
// (the golden `ntkauto_random2304` case). Keys already in the KV cache keep the base they
// were rotated with, as the seed does by default (STORE_KV_BEFORE_ROPE=False); we do not
// re-rotate them. See docs/MODEL.md.

import type { LlamaConfig, RopeParams } from "@llamats/tensor";

/** base * alpha^(d/(d-2)), the NTK-aware base for head dimension d. */
export function ntkBase(base: number, alpha: number, headDim: number): number {
  return base * Math.pow(alpha, headDim / (headDim - 2));
}

/**
 * The seed's auto alpha for a sequence of seqLen tokens, or undefined within the training
 * context. The seed's formula assumes a 2048-token training context, where it is always > 1;
 * for shorter training contexts (e.g. 512) it would go below 1 or negative (NaN bases), so
 * it is clamped at 1 (= plain RoPE). The clamp never changes the 2048 case.
 */
export function autoNtkAlpha(seqLen: number, trainContext: number): number | undefined {
  return seqLen > trainContext ? Math.max(1, (seqLen / 1024 - 1) * 1.1) : undefined;
}

/** RoPE parameters (interleaved layout, GGUF's) for a call that ends at sequence length seqLen. */
export function ropeParamsFor(config: LlamaConfig, seqLen: number): RopeParams {
  const s = config.ropeScaling;
  let base = config.ropeFreqBase;
  let freqScale = 1;
  if (s.type === "linear") freqScale = 1 / s.factor;
  else if (s.type === "ntk") {
    const alpha = s.alpha === "auto" ? autoNtkAlpha(seqLen, config.contextLength) : s.alpha;
    if (alpha !== undefined) base = ntkBase(base, alpha, config.keyLength);
  }
  return { headDim: config.keyLength, rotDim: config.ropeDimensionCount, base, freqScale, layout: "interleaved" };
}
