// The LoRA merge of one weight matrix, as Chinese-LLaMA-Alpaca's merge scripts compute it
// (merge_llama_with_chinese_lora_low_mem.py), one LoRA at a time:
//
//   W16 <- f16( f32(W16) + T(f32(B) @ f32(A)) * (lora_alpha / r) )      T = transpose iff fan_in_fan_out
//
// Rounding to f16 happens once per LoRA, never once for the summed deltas (on the Alpaca-Plus
// fixture that would change 28% of the elements). B @ A is accumulated in float32 in k order
// (k = 0 .. r-1), as OpenBLAS's sgemm does per output element: on the tiny fixtures this
// reproduces PyTorch's bytes exactly (a float64 delta would differ in a handful of elements).
// Pure functions over flat arrays: no I/O here.

import { LlamatsError, f16DecodeTable, f32ToF16 } from "@llamats/tensor";
import { DeltaPool } from "./delta-pool.js";
import { WasmDelta, type DeltaKernels } from "./delta-wasm.js";

/** One LoRA's factors for one weight: delta = B (outDim, r) @ A (r, inDim), times scale. */
export interface LoraFactors {
  /** (r, inDim) row-major, float32 values (f16 factors decoded first). */
  readonly a: Float32Array;
  /** (outDim, r) row-major. */
  readonly b: Float32Array;
  readonly r: number;
  /** lora_alpha / r. */
  readonly scale: number;
  /** The base weight is stored (in, out) (GPT-2 Conv1D): the delta is transposed. */
  readonly fanInFanOut?: boolean;
}

/**
 * delta (outDim, inDim) = B @ A in float32, accumulated over k in order. Each step rounds the
 * accumulator to float32 (fround of the exact product plus the sum), like an FMA-based sgemm.
 */
export function loraDelta(f: LoraFactors, outDim: number, inDim: number): Float32Array {
  checkFactors(f, outDim, inDim);
  return loraDeltaRows(f, inDim, 0, outDim, new Float32Array(outDim * inDim));
}

function checkFactors(f: LoraFactors, outDim: number, inDim: number): void {
  if (f.a.length !== f.r * inDim) throw new LlamatsError(`lora_A has ${f.a.length} elements, expected r*in = ${f.r}*${inDim}`);
  if (f.b.length !== outDim * f.r) throw new LlamatsError(`lora_B has ${f.b.length} elements, expected out*r = ${outDim}*${f.r}`);
}

export type DeltaEngine = "auto" | "js" | "wasm";

let wasm: WasmDelta | undefined | null = null; // null: not tried yet
let pool: DeltaPool | undefined;

/**
 * Threads for the delta product (the calling thread included); 1 (the default) stops the
 * worker pool. Returns the count in effect (1 where worker threads are unavailable).
 */
export function setLoraThreads(threads: number): number {
  const n = Math.max(1, Math.min(64, Math.floor(threads)));
  if (pool && pool.threads === n) return n;
  pool?.dispose();
  pool = n > 1 ? DeltaPool.create(n) : undefined;
  return pool ? n : 1;
}

/**
 * Rows i0 .. i1-1 of the delta into d ((i1 - i0), inDim), same arithmetic as loraDelta, by
 * the WebAssembly SIMD kernel (delta-wasm.ts) when inDim is a multiple of 4, else in
 * TypeScript; both give the same bits (tested).
 */
export function loraDeltaRows(f: LoraFactors, inDim: number, i0: number, i1: number, d: Float32Array, engine: DeltaEngine = "auto"): Float32Array {
  const k = kernelsFor(inDim, engine);
  if (!k) return loraDeltaRowsJs(f, inDim, i0, i1, d);
  k.rows(f.a, f.b, f.r, inDim, i0, i1, d);
  return d;
}

/** The WebAssembly engine for rows of width inDim (the pool's when there is one), or undefined (TypeScript). */
function kernelsFor(inDim: number, engine: DeltaEngine): DeltaKernels | undefined {
  if (engine === "js" || inDim % 4 !== 0) return undefined;
  if (pool && engine === "auto") return pool;
  if (wasm === null) wasm = WasmDelta.create();
  if (!wasm && engine === "wasm") throw new LlamatsError("WebAssembly SIMD is not available in this runtime");
  return wasm;
}

/**
 * The TypeScript delta: two output rows and four k at a time share the loads of A; the order
 * per element is kept.
 */
export function loraDeltaRowsJs(f: LoraFactors, inDim: number, i0: number, i1: number, d: Float32Array): Float32Array {
  const { a, b, r } = f;
  d.fill(0, 0, (i1 - i0) * inDim);
  const fr = Math.fround;
  let i = i0;
  for (; i + 2 <= i1; i += 2) {
    const o0 = (i - i0) * inDim, o1 = o0 + inDim;
    const bi0 = i * r, bi1 = bi0 + r;
    let k = 0;
    for (; k + 4 <= r; k += 4) {
      const p0 = b[bi0 + k], p1 = b[bi0 + k + 1], p2 = b[bi0 + k + 2], p3 = b[bi0 + k + 3];
      const q0 = b[bi1 + k], q1 = b[bi1 + k + 1], q2 = b[bi1 + k + 2], q3 = b[bi1 + k + 3];
      const a0 = k * inDim, a1 = a0 + inDim, a2 = a1 + inDim, a3 = a2 + inDim;
      for (let j = 0; j < inDim; j++) {
        const x0 = a[a0 + j], x1 = a[a1 + j], x2 = a[a2 + j], x3 = a[a3 + j];
        d[o0 + j] = fr(fr(fr(d[o0 + j] + p0 * x0) + p1 * x1) + p2 * x2) + p3 * x3; // the store rounds the last step
        d[o1 + j] = fr(fr(fr(d[o1 + j] + q0 * x0) + q1 * x1) + q2 * x2) + q3 * x3;
      }
    }
    for (; k < r; k++) {
      const p = b[bi0 + k], q = b[bi1 + k], ao = k * inDim;
      for (let j = 0; j < inDim; j++) {
        d[o0 + j] += p * a[ao + j];
        d[o1 + j] += q * a[ao + j];
      }
    }
  }
  for (; i < i1; i++) {
    const o = (i - i0) * inDim;
    for (let k = 0; k < r; k++) {
      const p = b[i * r + k], ao = k * inDim;
      for (let j = 0; j < inDim; j++) d[o + j] += p * a[ao + j];
    }
  }
  return d;
}

/** Output rows per delta block in mergeTensor, per thread: the f32 delta never holds more. */
const ROW_BLOCK_PER_THREAD = 32;

/** What a merged tensor looks like: f16 bits, plus how many elements each LoRA changed. */
export interface MergeResult {
  /** (rows, cols) f16 bit patterns. */
  readonly f16: Uint16Array;
  /** Per LoRA, elements whose f16 bits changed in that step. */
  readonly changed: number[];
}

/**
 * Merge LoRAs, in order, into one weight of shape (rows, cols) (PyTorch's (out, in), or
 * (in, out) when fanInFanOut). `base` is f16 bits (Uint16Array) or float32 values; the
 * result is f16 whatever the input, as the seed's scripts write it.
 * Throws a LlamatsError if an element turns NaN/Inf that was finite before. With inPlace, an
 * f16 `base` is updated and returned instead of copied (saves one tensor of memory).
 */
export function mergeTensor(
  base: Float32Array | Uint16Array,
  rows: number,
  cols: number,
  loras: readonly LoraFactors[],
  name = "tensor",
  opts: { inPlace?: boolean; engine?: DeltaEngine } = {},
): MergeResult {
  const n = rows * cols;
  if (base.length !== n) throw new LlamatsError(`${name}: base has ${base.length} elements, expected ${rows}x${cols}`);
  const table = f16DecodeTable();
  let cur: Uint16Array;
  if (base instanceof Uint16Array) cur = opts.inPlace ? base : base.slice(); // inPlace: the caller gives the buffer up
  else {
    cur = new Uint16Array(n);
    for (let i = 0; i < n; i++) cur[i] = f32ToF16(base[i]);
  }
  const changed: number[] = [];
  for (let l = 0; l < loras.length; l++) {
    const f = loras[l];
    const outDim = f.fanInFanOut ? cols : rows;
    const inDim = f.fanInFanOut ? rows : cols;
    checkFactors(f, outDim, inDim);
    const scale = Math.fround(f.scale);
    let nChanged = 0;
    const fail = (idx: number, d: number): never => {
      const w = table[cur[idx]];
      const sum = Math.fround(w + Math.fround(d * scale));
      throw new LlamatsError(
        `${name}: LoRA ${l + 1} makes element [${Math.floor(idx / cols)}, ${idx % cols}] ${Number.isNaN(sum) ? "NaN" : "overflow f16 to Inf"} ` +
          `(base ${w}, delta ${d * scale}); the adapter is corrupt or was trained for another base model`,
      );
    };
    // Adds delta values (one per element of cur[start .. start + n)) in float32, rounds to f16.
    const ROW_BLOCK = ROW_BLOCK_PER_THREAD * (pool?.threads ?? 1);
    const sums = new Float32Array(Math.min(ROW_BLOCK, rows) * cols);
    const sumBits = new Uint32Array(sums.buffer);
    const applyRun = (start: number, n: number, deltaAt: (k: number) => number): void => {
      for (let k = 0; k < n; k++) sums[k] = table[cur[start + k]] + Math.fround(deltaAt(k) * scale); // the store rounds to f32
      for (let k = 0; k < n; k++) {
        const idx = start + k;
        const h = f32BitsToF16(sumBits[k]);
        const old = cur[idx];
        if ((h & 0x7c00) === 0x7c00 && (old & 0x7c00) !== 0x7c00) fail(idx, deltaAt(k));
        if (h !== old) nChanged++;
        cur[idx] = h;
      }
    };
    if (f.fanInFanOut) {
      const delta = loraDeltaRows(f, inDim, 0, outDim, new Float32Array(outDim * inDim)); // (cols, rows)
      for (let i = 0; i < rows; i += ROW_BLOCK) {
        const i1 = Math.min(rows, i + ROW_BLOCK);
        applyRun(i * cols, (i1 - i) * cols, (k) => { const e = i * cols + k; return delta[(e % cols) * rows + Math.floor(e / cols)]; }); // T(delta)
      }
    } else {
      // Row blocks keep the float32 delta small (ROW_BLOCK rows), whatever the matrix size.
      const k = kernelsFor(cols, opts.engine ?? "auto");
      const block = k ? undefined : new Float32Array(Math.min(ROW_BLOCK, rows) * cols);
      for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
        const i1 = Math.min(rows, i0 + ROW_BLOCK);
        if (k) {
          // delta and sum in WebAssembly (merge_rows: the arithmetic of applyRun), per row block
          const m = k.mergeRows(f.a, f.b, f.r, cols, i0, i1, cur, scale);
          if (m.bad >= 0) fail(m.bad, m.badDelta);
          nChanged += m.changed;
        } else {
          loraDeltaRows(f, cols, i0, i1, block!, opts.engine);
          applyRun(i0 * cols, (i1 - i0) * cols, (j) => block![j]);
        }
      }
    }
    changed.push(nChanged);
  }
  return { f16: cur, changed };
}

/**
 * float32 bits -> f16 bits, round to nearest even (as @llamats/tensor's f32ToF16, tested
 * equal), on integers only so that the hot loop needs no scratch buffers.
 */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > halfway || (rest === halfway && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Decode f16 bits (a Uint8Array of little-endian bytes or a Uint16Array) to float32. */
export function f16BytesToF32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const table = f16DecodeTable();
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  return out;
}
