// The Backend interface: every op the LLaMA forward pass needs, over flat Float32Arrays
// whose layouts are given in each doc comment. The plain-TypeScript ReferenceBackend is
// the living definition of each op; faster backends (WebAssembly SIMD, worker_threads,
// gpu.js) implement the same interface and are tested against it with a stated bound.
//
// Buffers are allocated through the backend (allocF32 / allocBytes) so that a backend can
// place them where its kernels can reach them: a shared WebAssembly.Memory, a
// SharedArrayBuffer seen by workers. Ops are synchronous; a multi-threaded backend blocks
// the caller until its workers are done (Atomics.wait is allowed on Node's main thread).

import type { GGMLType } from "./ggml.js";
import type { KVRows } from "./kv-types.js";

/**
 * A weight matrix exactly as ggml stores it: `rows` rows of `cols` elements, row-major;
 * each row is ggmlRowBytes(type, cols) bytes (for F32 that is cols * 4 little-endian bytes).
 * In GGUF terms the tensor has ne = [cols, rows]. PyTorch's nn.Linear weight (out, in)
 * has rows = out, cols = in.
 */
export interface WeightMatrix {
  readonly type: GGMLType;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array; // (rows, rowBytes)
}

/**
 * How RoPE pairs the dimensions of a head.
 * - "interleaved": pairs (2i, 2i+1), as Meta's checkpoints, llama2.c and GGUF store Q/K.
 * - "neox": rotate-half, pairs (i, i + rotDim/2), as Hugging Face's LlamaAttention.
 */
export type RopeLayout = "interleaved" | "neox";

export interface RopeParams {
  readonly headDim: number;
  /** Dimensions rotated per head (default headDim; must be even and <= headDim). */
  readonly rotDim?: number;
  /** theta base, 10000 for LLaMA; NTK scaling enlarges it. */
  readonly base: number;
  /** Linear position interpolation: angle uses pos * freqScale (1 = none). */
  readonly freqScale?: number;
  readonly layout: RopeLayout;
}

export interface AttentionParams {
  /** Queries in this call; they sit at positions pos0 .. pos0 + nTokens - 1. */
  readonly nTokens: number;
  readonly pos0: number;
  readonly nHeads: number;
  /** Query head h reads KV head floor(h / (nHeads / nKvHeads)). */
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Score scale, normally 1 / sqrt(headDim). */
  readonly scale: number;
}

/** A matmul kernel for one weight type: out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ. */
export type MatmulKernel = (out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number) => void;

/** Decode row `row` of `w` to float32 into out[outOffset .. outOffset + w.cols). */
export type RowDecoder = (w: WeightMatrix, row: number, out: Float32Array, outOffset: number) => void;

export interface Backend {
  readonly name: string;

  /** A zeroed Float32Array of n elements that this backend's kernels can address. */
  allocF32(n: number): Float32Array;
  /** A zeroed byte buffer of n bytes that this backend's kernels can address (weights). */
  allocBytes(n: number): Uint8Array;

  /** Weight types this backend can multiply by. */
  supports(type: GGMLType): boolean;

  /** out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ. */
  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void;

  /** out (ids.length, table.cols) = rows ids[i] of table, decoded to float32. */
  embedding(out: Float32Array, table: WeightMatrix, ids: ArrayLike<number>): void;

  /** Per row of `dim`: out = x / sqrt(mean(x²) + eps) * weight. x, out: (nRows, dim). */
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, dim: number, eps: number): void;

  /** In place on x (nTokens, nHeads, headDim); token t is at position positions[t]. */
  rope(x: Float32Array, nHeads: number, positions: ArrayLike<number>, params: RopeParams): void;

  /** Causal attention. q (nTokens, nHeads, headDim); kCache, vCache (nCtx, nKvHeads, headDim)
   *  for one layer, already holding rows 0 .. pos0 + nTokens - 1, stored as f32, f16 or q8_0
   *  (kv-types.ts: the array's element type says which); out (nTokens, nHeads, headDim).
   *  If probsOut is given, it receives (nTokens, nHeads, pos0 + nTokens) attention weights. */
  attention(out: Float32Array, q: Float32Array, kCache: KVRows, vCache: KVRows,
    params: AttentionParams, probsOut?: Float32Array): void;

  /** out = a + b, elementwise over out.length. */
  add(out: Float32Array, a: Float32Array, b: Float32Array): void;
  /** out = silu(gate) * up, elementwise (LLaMA's FFN activation). */
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void;

  /** Release threads / memories. The backend must not be used afterwards. */
  dispose(): void;
}
