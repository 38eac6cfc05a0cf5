// RunState: everything forward() writes, allocated once per model instance: scratch
// activations for up to maxBatch tokens per pass (a longer prompt is processed in chunks of
// maxBatch, a batch of sequences shares the passes) and the KV cache of the default sequence
// (allocated on first use; newCache() makes one for each further sequence). Buffers come from
// the backend so its kernels can address them.

import { type Backend, checkKVCacheShape, type KVCacheType, type LlamaConfig, LlamatsError } from "@llamats/tensor";
import { KVCache } from "./kv-cache.js";

export interface RunStateOptions {
  /** Context length of the KV cache (default: the model's training context). */
  readonly nCtx?: number;
  /** Tokens per prefill pass (default 64, at most nCtx). */
  readonly maxBatch?: number;
  /** Storage type of every KV cache this state makes (default f32; see kv-cache.ts). */
  readonly cacheType?: KVCacheType;
}

/** What forward() captured when asked (opts.capture). */
export interface Captured {
  /** Residual stream after each layer: (nLayers, nTokens, dim). */
  layerOut?: Float32Array;
  /** Output of the final RMSNorm (the lm_head input): (nTokens, dim). */
  hiddenFinal?: Float32Array;
  /** Attention weights per layer: each (nTokens, nHeads, pos + nTokens); causal zeros beyond. */
  attention?: Float32Array[];
}

export class RunState {
  /** Context length of every cache this state makes. */
  readonly nCtx: number;
  readonly maxBatch: number;
  /** Storage type of the caches newCache() makes. */
  readonly cacheType: KVCacheType;
  readonly x: Float32Array; // (maxBatch, dim) residual stream
  readonly xb: Float32Array; // (maxBatch, dim) normed input / block output
  readonly q: Float32Array; // (maxBatch, nHeads * headDim)
  readonly k: Float32Array; // (maxBatch, kvDim)
  readonly v: Float32Array; // (maxBatch, kvDim)
  readonly attnOut: Float32Array; // (maxBatch, nHeads * headDim)
  readonly hb: Float32Array; // (maxBatch, ffnDim) gate, then swiglu
  readonly hb2: Float32Array; // (maxBatch, ffnDim) up
  readonly logits: Float32Array; // (vocab) last-position logits
  /** LoRA scratch, grown on demand: (maxBatch, r) and (maxBatch, out). */
  loraMid: Float32Array;
  loraOut: Float32Array;
  /** lm_head output of a batch's last rows, grown on demand: (rows, vocab). */
  batchLogits: Float32Array;
  /** Filled by forward() when opts.capture asks for it; replaced on each call. */
  captured: Captured = {};

  constructor(readonly backend: Backend, readonly config: LlamaConfig, opts: RunStateOptions = {}) {
    const { embeddingLength: dim, headCount: nHeads, keyLength: headDim, headCountKv: nKvHeads, feedForwardLength: ffnDim, vocabSize, blockCount: nLayers } = config;
    const kvDim = nKvHeads * headDim;
    this.nCtx = opts.nCtx ?? config.contextLength;
    if (!Number.isSafeInteger(this.nCtx) || this.nCtx < 1) throw new LlamatsError(`context size ${this.nCtx}: want a positive integer`);
    if (nLayers * kvDim < 1) throw new LlamatsError(`run state: bad shape (${nLayers} layers, kvDim ${kvDim})`);
    this.cacheType = opts.cacheType ?? "f32";
    checkKVCacheShape(this.cacheType, kvDim); // before a first cache is made, not at the first token
    // A pass never holds more tokens than the context.
    this.maxBatch = Math.min(this.nCtx, Math.max(1, Math.floor(opts.maxBatch ?? 64)));
    const b = this.maxBatch;
    this.x = backend.allocF32(b * dim);
    this.xb = backend.allocF32(b * dim);
    this.q = backend.allocF32(b * nHeads * headDim);
    this.k = backend.allocF32(b * kvDim);
    this.v = backend.allocF32(b * kvDim);
    this.attnOut = backend.allocF32(b * nHeads * headDim);
    this.hb = backend.allocF32(b * ffnDim);
    this.hb2 = backend.allocF32(b * ffnDim);
    this.logits = backend.allocF32(vocabSize);
    this.loraMid = backend.allocF32(0);
    this.loraOut = backend.allocF32(0);
    this.batchLogits = backend.allocF32(0);
  }

  private defaultCache: KVCache | undefined;

  /** The default sequence's KV cache (what forward() uses), allocated on first use. */
  get cache(): KVCache {
    this.defaultCache ??= this.newCache();
    return this.defaultCache;
  }

  /** A fresh, empty KV cache for another sequence (nCtx positions, this state's cache type, unless given). */
  newCache(nCtx: number = this.nCtx, type: KVCacheType = this.cacheType): KVCache {
    const { blockCount: nLayers, headCountKv: nKvHeads, keyLength: headDim } = this.config;
    return new KVCache(this.backend, nLayers, nCtx, nKvHeads * headDim, type);
  }

  /** Reset the default KV cache (start a new sequence). */
  reset(): void {
    this.defaultCache?.reset();
  }
}
