// Device-level ops: each takes device arrays (runtime.ts) and returns a new one, so a whole
// forward step chains them without reading anything back. Shapes are given explicitly;
// layouts are the Backend interface's (row-major, tokens outer).

import { type RopeParams, type WeightMatrix, ropeTables } from "@llamats/tensor";
import * as K from "./kernels.js";
import { type PackedKind, packRows, packedKindFor, rowChunks } from "./pack.js";
import type { DeviceArray, GpuRuntime } from "./runtime.js";

/** A weight matrix resident on the device: one or more row chunks in a packed layout. */
export interface DeviceMatrix {
  readonly kind: PackedKind;
  readonly rows: number;
  readonly cols: number;
  readonly chunks: readonly { readonly r0: number; readonly rows: number; readonly data: DeviceArray }[];
}

/** Upload a weight matrix once (packed; split into chunks under the binding limit). */
export async function uploadMatrix(rt: GpuRuntime, w: WeightMatrix): Promise<DeviceMatrix> {
  const kind = packedKindFor(w.type);
  const chunks = [];
  for (const c of rowChunks(kind, w.rows, w.cols, rt.maxBindingBytes)) {
    chunks.push({ r0: c.r0, rows: c.rows, data: await rt.upload(packRows(w, c.r0, c.rows)) });
  }
  return { kind, rows: w.rows, cols: w.cols, chunks };
}

export function freeMatrix(rt: GpuRuntime, m: DeviceMatrix): void {
  for (const c of m.chunks) rt.free(c.data);
}

const matmulKernels = { f32: K.matmulF32, q8_0: K.matmulQ8_0, q4_0: K.matmulQ4_0 } as const;

/** out (nTokens, w.rows) = x (nTokens, w.cols) · Wᵀ. */
export async function matmul(rt: GpuRuntime, w: DeviceMatrix, x: DeviceArray, nTokens: number): Promise<DeviceArray> {
  const { cols, kind } = w;
  const nBlocks = cols / 32;
  const partOut = async (rows: number, data: DeviceArray) => {
    const k = rt.kernel(`mm:${kind}:${rows}:${cols}:${nTokens}`, matmulKernels[kind], nTokens * rows,
      { rows, cols, nBlocks: Math.floor(nBlocks) }, Math.max(cols, nBlocks, 11));
    return rt.run(k, data, x);
  };
  if (w.chunks.length === 1) return partOut(w.rows, w.chunks[0].data);
  // Several chunks: each writes its rows into the (nTokens, rows) result in turn.
  let acc = await rt.upload(new Float32Array(nTokens * w.rows));
  for (const c of w.chunks) {
    const part = await partOut(c.rows, c.data);
    const k = rt.kernel(`place:${w.rows}:${c.r0}:${c.rows}:${nTokens}`, K.placeRows, nTokens * w.rows,
      { rows: w.rows, r0: c.r0, partRows: c.rows }, 1);
    const next = await rt.run(k, acc, part);
    rt.free(acc);
    rt.free(part);
    acc = next;
  }
  return acc;
}

/** Per row of dim: x / sqrt(mean(x²) + eps) * weight. */
export async function rmsNorm(rt: GpuRuntime, x: DeviceArray, weight: DeviceArray, nRows: number, dim: number, eps: number): Promise<DeviceArray> {
  const k = rt.kernel(`rms:${nRows}:${dim}`, K.rmsNorm, nRows * dim, { dim }, dim);
  return rt.run(k, x, weight, eps);
}

/** cos/sin (nTokens, rotDim/2) for some positions, on the device: built once per pass, used by every layer's q and k. */
export interface DeviceRopeTables {
  readonly nTokens: number;
  readonly cos: DeviceArray;
  readonly sin: DeviceArray;
}

/** The RoPE tables of these positions, computed on the host in f64 (f32 angles lose precision at large positions). */
export async function uploadRopeTables(rt: GpuRuntime, positions: ArrayLike<number>, p: RopeParams): Promise<DeviceRopeTables> {
  const { cos, sin } = ropeTables(positions, p);
  return { nTokens: positions.length, cos: await rt.upload(Float32Array.from(cos)), sin: await rt.upload(Float32Array.from(sin)) };
}

export function freeRopeTables(rt: GpuRuntime, t: DeviceRopeTables): void {
  rt.free(t.cos);
  rt.free(t.sin);
}

/** RoPE on x (nTokens, nHeads, headDim) with the tables of its positions. */
export async function rope(rt: GpuRuntime, x: DeviceArray, nHeads: number, tables: DeviceRopeTables, p: RopeParams): Promise<DeviceArray> {
  const n = tables.nTokens;
  const half = (p.rotDim ?? p.headDim) >> 1;
  const k = rt.kernel(`rope:${n}:${nHeads}:${p.headDim}:${half}:${p.layout}`, K.rope, n * nHeads * p.headDim,
    { headDim: p.headDim, nHeads, half, interleaved: p.layout === "interleaved" ? 1 : 0 }, 1);
  return rt.run(k, x, tables.cos, tables.sin);
}

export interface DeviceAttention {
  readonly nTokens: number;
  readonly pos0: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly nCtx: number;
  readonly scale: number;
}

/** Causal GQA attention of q (nTokens, nHeads, headDim) over (nCtx, kvDim) caches holding rows 0 .. pos0 + nTokens - 1. */
export async function attention(rt: GpuRuntime, q: DeviceArray, kCache: DeviceArray, vCache: DeviceArray, a: DeviceAttention): Promise<DeviceArray> {
  const { nTokens, nHeads, nKvHeads, headDim, nCtx } = a;
  const kvDim = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const c = { nCtx, nHeads, headDim, kvDim, group };
  const kScores = rt.kernel(`att-s:${nTokens}:${nHeads}:${nKvHeads}:${headDim}:${nCtx}`, K.attnScores, nTokens * nHeads * nCtx, c, headDim);
  const scores = await rt.run(kScores, q, kCache, a.pos0, a.scale);
  const kStats = rt.kernel(`att-m:${nTokens}:${nHeads}:${nCtx}`, K.attnRowStats, nTokens * nHeads * 2, c, nCtx);
  const stats = await rt.run(kStats, scores, a.pos0);
  const kOut = rt.kernel(`att-o:${nTokens}:${nHeads}:${nKvHeads}:${headDim}:${nCtx}`, K.attnOutput, nTokens * nHeads * headDim, c, nCtx);
  const out = await rt.run(kOut, scores, stats, vCache, a.pos0);
  rt.free(scores);
  rt.free(stats);
  return out;
}

/** A new (nCtx, kvDim) cache with rows pos0 .. pos0 + nTokens - 1 replaced. */
export async function kvWrite(rt: GpuRuntime, cache: DeviceArray, rows: DeviceArray, nCtx: number, kvDim: number, pos0: number, nTokens: number): Promise<DeviceArray> {
  const k = rt.kernel(`kv:${nCtx}:${kvDim}:${nTokens}`, K.kvWrite, nCtx * kvDim, { kvDim, nTokens }, 1);
  return rt.run(k, cache, rows, pos0);
}

export async function swiglu(rt: GpuRuntime, gate: DeviceArray, up: DeviceArray, n: number): Promise<DeviceArray> {
  return rt.run(rt.kernel(`swiglu:${n}`, K.swiglu, n, {}, 1), gate, up);
}

/** a + scale * b. */
export async function axpy(rt: GpuRuntime, a: DeviceArray, b: DeviceArray, scale: number, n: number): Promise<DeviceArray> {
  return rt.run(rt.kernel(`axpy:${n}`, K.axpy, n, {}, 1), a, b, scale);
}

/** n elements of x starting at offset. */
export async function slice(rt: GpuRuntime, x: DeviceArray, offset: number, n: number): Promise<DeviceArray> {
  return rt.run(rt.kernel(`slice:${n}`, K.slice, n, {}, 1), x, offset);
}
