// The KV cache: keys and values of every layer for positions 0 .. length-1, preallocated
// as (nLayers, nCtx, kvDim) each (kvDim = nKvHeads * headDim), keys stored after RoPE, in
// one of the storage types of @llamats/tensor's kv-types.ts: f32 (4 bytes a value), f16
// (2) or q8_0 (34 bytes per 32 values, ggml's block layout). write() converts a pass's
// float32 rows once; attention reads the stored type directly. Positions are written by forward(); truncate() drops the tail (chat edits,
// speculative decoding), reset() empties it. Writing past nCtx is a KVCacheFullError.

import { quantizeRowQ8_0 } from "@llamats/quant";
import { type Backend, checkKVCacheShape, f32ToF16, kvRowBytes, kvRowUnits, LlamatsError, type KVCacheType, type KVRows } from "@llamats/tensor";

export class KVCacheFullError extends LlamatsError {
  constructor(readonly nCtx: number, readonly requested: number) {
    super(`KV cache full: ${requested} positions requested, the context holds ${nCtx} (raise nCtx / --ctx-size)`);
  }
}

export class KVCache {
  readonly k: KVRows; // (nLayers, nCtx, kvDim) of `type`
  readonly v: KVRows; // (nLayers, nCtx, kvDim) of `type`
  /** Array elements (f32, f16) or bytes (q8_0) per cached row. */
  private readonly rowUnits: number;
  private filled = 0;

  constructor(backend: Backend, readonly nLayers: number, readonly nCtx: number, readonly kvDim: number,
    readonly type: KVCacheType = "f32") {
    if (![nLayers, nCtx, kvDim].every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new LlamatsError(`KV cache: bad shape (${nLayers}, ${nCtx}, ${kvDim})`);
    }
    checkKVCacheShape(type, kvDim);
    this.rowUnits = kvRowUnits(type, kvDim);
    const rows = nLayers * nCtx;
    const bytes = rows * kvRowBytes(type, kvDim);
    const gib = ((2 * bytes) / 2 ** 30).toFixed(2);
    try {
      this.k = alloc(backend, type, rows * this.rowUnits);
      this.v = alloc(backend, type, rows * this.rowUnits);
    } catch (err) {
      // A context too large for memory (or for one typed array) is bad input, not a crash.
      throw new LlamatsError(`KV cache of ${nCtx} positions needs ${gib} GiB (2 x (${nLayers}, ${nCtx}, ${kvDim}) ${type}), which could not be allocated: lower nCtx`, { cause: err });
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

  /** One layer's keys, (nCtx, kvDim) of `type`. */
  layerK(layer: number): KVRows {
    return this.k.subarray(layer * this.nCtx * this.rowUnits, (layer + 1) * this.nCtx * this.rowUnits);
  }

  /** One layer's values, (nCtx, kvDim) of `type`. */
  layerV(layer: number): KVRows {
    return this.v.subarray(layer * this.nCtx * this.rowUnits, (layer + 1) * this.nCtx * this.rowUnits);
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
    const row = layer * this.nCtx + pos;
    storeKVRows(this.k, row, k, nTokens, this.kvDim);
    storeKVRows(this.v, row, v, nTokens, this.kvDim);
  }

  /** Mark positions up to end (exclusive) as held. */
  commit(end: number): void {
    this.filled = end;
  }
}

function alloc(backend: Backend, type: KVCacheType, units: number): KVRows {
  if (type === "f32") return backend.allocF32(units);
  // Bytes from the backend (so its threads can address them), seen as f16 bits or q8_0 blocks.
  const bytes = backend.allocBytes(type === "f16" ? 2 * units : units);
  return type === "f16" ? new Uint16Array(bytes.buffer, bytes.byteOffset, units) : bytes;
}

/**
 * Store nTokens float32 rows of kvDim values (src) into cache rows row .. row + nTokens - 1
 * of dst, converting to dst's storage type: f16 rounds to nearest even (@llamats/tensor's
 * f32ToF16), q8_0 quantises each block of 32 as ggml's quantize_row_q8_0_ref.
 */
export function storeKVRows(dst: KVRows, row: number, src: Float32Array, nTokens: number, kvDim: number): void {
  const n = nTokens * kvDim;
  if (dst instanceof Float32Array) {
    dst.set(src.subarray(0, n), row * kvDim);
  } else if (dst instanceof Uint16Array) {
    const off = row * kvDim;
    for (let i = 0; i < n; i++) dst[off + i] = f32ToF16(src[i]);
  } else {
    const rowBytes = kvRowUnits("q8_0", kvDim);
    for (let t = 0; t < nTokens; t++) quantizeRowQ8_0(src, t * kvDim, kvDim, dst, (row + t) * rowBytes);
  }
}
