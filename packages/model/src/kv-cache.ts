// The KV cache: keys and values of every layer for positions 0 .. length-1, preallocated
// as (nLayers, nCtx, kvDim) float32 each (kvDim = nKvHeads * headDim), keys stored after
// RoPE. Positions are written by forward(); truncate() drops the tail (chat edits,
// speculative decoding), reset() empties it. Writing past nCtx is a KVCacheFullError.

import { type Backend, LlamatsError } from "@llamats/tensor";

export class KVCacheFullError extends LlamatsError {
  constructor(readonly nCtx: number, readonly requested: number) {
    super(`KV cache full: ${requested} positions requested, the context holds ${nCtx} (raise nCtx / --ctx-size)`);
  }
}

export class KVCache {
  readonly k: Float32Array; // (nLayers, nCtx, kvDim)
  readonly v: Float32Array; // (nLayers, nCtx, kvDim)
  private filled = 0;

  constructor(backend: Backend, readonly nLayers: number, readonly nCtx: number, readonly kvDim: number) {
    if (![nLayers, nCtx, kvDim].every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new LlamatsError(`KV cache: bad shape (${nLayers}, ${nCtx}, ${kvDim})`);
    }
    const n = nLayers * nCtx * kvDim;
    const gib = ((2 * n * 4) / 2 ** 30).toFixed(2);
    try {
      this.k = backend.allocF32(n);
      this.v = backend.allocF32(n);
    } catch (err) {
      // A context too large for memory (or for one typed array) is bad input, not a crash.
      throw new LlamatsError(`KV cache of ${nCtx} positions needs ${gib} GiB (2 x (${nLayers}, ${nCtx}, ${kvDim}) float32), which could not be allocated: lower nCtx`, { cause: err });
    }
  }

  /** Bytes of K and V together. */
  get byteLength(): number {
    return this.k.byteLength + this.v.byteLength;
  }

  /** Positions currently held. */
  get length(): number {
    return this.filled;
  }

  /** One layer's keys, (nCtx, kvDim). */
  layerK(layer: number): Float32Array {
    return this.k.subarray(layer * this.nCtx * this.kvDim, (layer + 1) * this.nCtx * this.kvDim);
  }

  /** One layer's values, (nCtx, kvDim). */
  layerV(layer: number): Float32Array {
    return this.v.subarray(layer * this.nCtx * this.kvDim, (layer + 1) * this.nCtx * this.kvDim);
  }

  reset(): void {
    this.filled = 0;
  }

  /** Keep positions 0 .. n-1. */
  truncate(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.filled) {
      throw new LlamatsError(`KV cache: cannot truncate to ${n}, it holds ${this.filled} positions`);
    }
    this.filled = n;
  }

  /** Check that positions pos .. pos+nTokens-1 can be written: no gap, no overflow. */
  checkRoom(pos: number, nTokens: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos > this.filled) {
      throw new LlamatsError(`KV cache: position ${pos} is invalid, the cache holds ${this.filled} positions (no gaps allowed)`);
    }
    if (pos + nTokens > this.nCtx) throw new KVCacheFullError(this.nCtx, pos + nTokens);
  }

  /** Store (nTokens, kvDim) keys and values of `layer` at positions pos ..; the length moves on commit(). */
  write(layer: number, pos: number, k: Float32Array, v: Float32Array, nTokens: number): void {
    const off = (layer * this.nCtx + pos) * this.kvDim;
    const n = nTokens * this.kvDim;
    this.k.set(k.subarray(0, n), off);
    this.v.set(v.subarray(0, n), off);
  }

  /** Mark positions up to end (exclusive) as held. */
  commit(end: number): void {
    this.filled = end;
  }
}
