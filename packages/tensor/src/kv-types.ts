// Storage types of the KV cache: what one cached row (kvDim values of one position) is in
// memory. "f32": float32, as computed. "f16": IEEE half bits (Uint16Array), rounded to
// nearest even, half the memory. "q8_0": ggml's Q8_0 blocks (32 int8 codes after an f16
// scale d = amax / 127, 34 bytes per 32 values), ~0.27x the memory; kvDim must be a
// multiple of 32 (blocks never straddle rows, as in llama.cpp's --cache-type-k q8_0).
//
// A cache buffer's element type says its storage type: Float32Array = f32, Uint16Array =
// f16, Uint8Array = q8_0 (see kvRowsType). Attention reads these directly, decoding only
// the head-sized span of the row it is about to use.

import { LlamatsError } from "./errors.js";
import { f16DecodeTable } from "./f16.js";

export type KVCacheType = "f32" | "f16" | "q8_0";
export const KV_CACHE_TYPES: readonly KVCacheType[] = ["f32", "f16", "q8_0"];

/** One layer's (or a whole cache's) keys or values in one of the storage types. */
export type KVRows = Float32Array | Uint16Array | Uint8Array;

/** Q8_0 block: f16 scale then 32 int8 codes. */
export const KV_Q8_0_BLOCK = 32;
export const KV_Q8_0_BLOCK_BYTES = 34;

/** Parse a --cache-type / cacheType value; a LlamatsError names the accepted ones. */
export function parseKVCacheType(s: string): KVCacheType {
  if ((KV_CACHE_TYPES as readonly string[]).includes(s)) return s as KVCacheType;
  throw new LlamatsError(`unknown KV cache type "${s}" (want ${KV_CACHE_TYPES.join(", ")})`);
}

/** The storage type a cache buffer holds (by its element type). */
export function kvRowsType(rows: KVRows): KVCacheType {
  if (rows instanceof Float32Array) return "f32";
  if (rows instanceof Uint16Array) return "f16";
  return "q8_0";
}

/** Elements (f32, f16) or bytes (q8_0) of one row of kvDim values. */
export function kvRowUnits(type: KVCacheType, kvDim: number): number {
  return type === "q8_0" ? (kvDim / KV_Q8_0_BLOCK) * KV_Q8_0_BLOCK_BYTES : kvDim;
}

/** Bytes of one row of kvDim values. */
export function kvRowBytes(type: KVCacheType, kvDim: number): number {
  return type === "f32" ? 4 * kvDim : type === "f16" ? 2 * kvDim : kvRowUnits("q8_0", kvDim);
}

/** A LlamatsError unless kvDim can be stored as `type`. */
export function checkKVCacheShape(type: KVCacheType, kvDim: number): void {
  if (type === "q8_0" && kvDim % KV_Q8_0_BLOCK !== 0) {
    throw new LlamatsError(`KV cache type q8_0 needs kvDim (nKvHeads * headDim) to be a multiple of ${KV_Q8_0_BLOCK}; this model has ${kvDim} (use f16 or f32)`);
  }
}

/** Rows of kvDim values a cache buffer of this type holds. */
export function kvRowCount(rows: KVRows, kvDim: number): number {
  return Math.floor(rows.length / kvRowUnits(kvRowsType(rows), kvDim));
}

const f16Table = f16DecodeTable();

/**
 * dst[0 .. n) = values e0 .. e0 + n - 1 of cache row `row` (kvDim values per row), exactly
 * as float32 (f16 and q8_0 values are exact in float32: an int8 code times an f16 scale has
 * at most 19 significant bits), so attention over a decoded span equals attention over an
 * f32 cache holding the dequantised values, bit for bit.
 */
export function decodeKVSpan(src: KVRows, kvDim: number, row: number, e0: number, n: number, dst: Float32Array): void {
  if (src instanceof Float32Array) {
    const o = row * kvDim + e0;
    for (let i = 0; i < n; i++) dst[i] = src[o + i];
  } else if (src instanceof Uint16Array) {
    const o = row * kvDim + e0;
    for (let i = 0; i < n; i++) dst[i] = f16Table[src[o + i]];
  } else {
    const rowOff = row * (kvDim / KV_Q8_0_BLOCK) * KV_Q8_0_BLOCK_BYTES;
    let i = 0;
    while (i < n) {
      const e = e0 + i;
      const o = rowOff + (e >> 5) * KV_Q8_0_BLOCK_BYTES;
      const d = f16Table[src[o] | (src[o + 1] << 8)];
      const end = Math.min(n, i + KV_Q8_0_BLOCK - (e & 31)); // to this block's end
      for (let q = o + 2 + (e & 31); i < end; i++, q++) dst[i] = ((src[q] << 24) >> 24) * d;
    }
  }
}
