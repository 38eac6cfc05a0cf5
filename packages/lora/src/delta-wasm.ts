// The LoRA delta product B @ A in WebAssembly SIMD, emitted with @llamats/kernels' module
// builder. Same arithmetic as the TypeScript loops in merge.ts and delta-scalar.ts, bit for
// bit: per output element and per k in order, acc = f32( f64(acc) + f64(b) * f64(a) ) — the
// product of two float32 is exact in float64, the sum is rounded once to float64, then to
// float32, exactly what `Math.fround(acc + b * a)` does.
// Blocked so that the rank dimension runs in registers: a tile of ROWS_PER_TILE output rows
// by 4 columns keeps its accumulators in f64x2 locals (rounded to f32 and widened again after
// every step) for all r steps, reading A from a packed panel (the 4 columns of every k side by
// side, widened to float64 once by packA) and B's rows as float64 (widening is exact), so the
// loop over k converts nothing but the accumulators; d is read and written once per tile
// instead of once per k.
// Used when inDim is a multiple of 4 (every LLaMA width); the TypeScript loops otherwise.

import { ModuleBuilder, ValType, type FuncBuilder, type Local } from "@llamats/kernels";

const PAGE = 65536;

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

export const MAX_PAGES = 65536;

/** Output rows per register tile of delta_rows (the tail rows go one at a time). */
export const ROWS_PER_TILE = 4;

/**
 * A (r, inDim) as delta_rows reads it, in float64: panels of 4 columns, each holding those 4
 * columns of every k in order — packed[(jb * r + k) * 4 + c] = a[k * inDim + jb * 4 + c] — so
 * a tile reads its A values sequentially. inDim must be a multiple of 4.
 */
export function packA(a: Float32Array, r: number, inDim: number, out: Float64Array, at = 0): void {
  for (let k = 0; k < r; k++) {
    const src = k * inDim;
    for (let jb = 0, o = at + k * 4; jb < inDim; jb += 4, o += r * 4) {
      out[o] = a[src + jb];
      out[o + 1] = a[src + jb + 1];
      out[o + 2] = a[src + jb + 2];
      out[o + 3] = a[src + jb + 3];
    }
  }
}

/** The kernel module; `shared` for a memory shared with worker threads (delta-pool.ts). */
export function buildDeltaModule(shared = false): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared });
  // delta_rows(aPackedPtr, bPtr, dPtr, nRows, inDim, r): d (nRows, inDim) += B (nRows, r) @ A (r, inDim),
  // A packed by packA (float64), B's rows as float64.
  const f = m.func("delta_rows", [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32]);
  const [aPtr, bPtr, dPtr, nRows, inDim, r] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const rowsLeft = f.local(ValType.i32), inBytes = f.local(ValType.i32), rBytes = f.local(ValType.i32);
  const dTile = f.local(ValType.i32), bTile = f.local(ValType.i32), panel = f.local(ValType.i32);
  const ap = f.local(ValType.i32), bp = f.local(ValType.i32), aEnd = f.local(ValType.i32), jb = f.local(ValType.i32);
  const xl = f.local(ValType.v128), xh = f.local(ValType.v128), bk = f.local(ValType.v128);
  const acc = Array.from({ length: ROWS_PER_TILE * 2 }, () => f.local(ValType.v128));
  f.get(inDim).i32(2).op("i32_shl").set(inBytes);
  f.get(r).i32(3).op("i32_shl").set(rBytes); // a row of B in float64
  f.get(dPtr).set(dTile);
  f.get(bPtr).set(bTile);
  f.get(nRows).set(rowsLeft);
  // Tiles of ROWS_PER_TILE rows, then the remaining rows one by one.
  const rowsLoop = (rows: number): void => {
    f.block(() => {
      f.get(rowsLeft).i32(rows).op("i32_lt_s").brIf(0);
      f.loop(() => {
        emitTile(f, rows, { inBytes, rBytes, dTile, bTile, panel, ap, bp, aEnd, jb, aPtr, r, xl, xh, bk, acc });
        f.get(dTile).get(inBytes).i32(rows).op("i32_mul").op("i32_add").set(dTile);
        f.get(bTile).get(rBytes).i32(rows).op("i32_mul").op("i32_add").set(bTile);
        f.get(rowsLeft).i32(rows).op("i32_sub").tee(rowsLeft).i32(rows).op("i32_ge_s").brIf(0);
      });
    });
  };
  f.block(() => {
    f.get(r).i32(1).op("i32_lt_s").brIf(0); // rank 0: nothing to add
    rowsLoop(ROWS_PER_TILE);
    rowsLoop(1);
  });
  emitMergeRows(m);
  return m.encode();
}

interface TileLocals {
  inBytes: Local; rBytes: Local; dTile: Local; bTile: Local; panel: Local; ap: Local; bp: Local; aEnd: Local; jb: Local;
  aPtr: Local; r: Local; xl: Local; xh: Local; bk: Local; acc: Local[];
}

/** One row tile (`rows` rows at dTile / bTile) over every 4-column panel. */
function emitTile(f: FuncBuilder, rows: number, L: TileLocals): void {
  const { inBytes, rBytes, dTile, bTile, panel, ap, bp, aEnd, jb, aPtr, xl, xh, bk, acc } = L;
  f.get(aPtr).set(panel);
  f.forRange(jb, () => f.i32(0), inBytes, 16, () => {
    // acc = f64 halves of d's 4 values in each row of the tile
    for (let row = 0; row < rows; row++) {
      f.get(dTile).get(jb).op("i32_add");
      if (row > 0) f.get(inBytes).i32(row).op("i32_mul").op("i32_add");
      f.vmem("v128_load").set(xl);
      f.get(xl).v("f64x2_promote_low_f32x4").set(acc[2 * row]!);
      f.get(xl).get(xl).shuffle(HIGH_HALF).v("f64x2_promote_low_f32x4").set(acc[2 * row + 1]!);
    }
    // for k in order: acc = f64(f32(acc + f64(a) * f64(b)))
    f.get(panel).set(ap);
    f.get(panel).get(rBytes).i32(2).op("i32_shl").op("i32_add").set(aEnd); // r steps of 4 float64
    f.get(bTile).set(bp);
    f.loop(() => {
      f.get(ap).vmem("v128_load").set(xl);
      f.get(ap).vmem("v128_load", 16).set(xh);
      for (let row = 0; row < rows; row++) {
        f.get(bp);
        if (row > 0) f.get(rBytes).i32(row).op("i32_mul").op("i32_add");
        f.vmem("v128_load64_splat").set(bk);
        for (const [half, x] of [[0, xl], [1, xh]] as const) {
          const a = acc[2 * row + half]!;
          f.get(a).get(x).get(bk).v("f64x2_mul").v("f64x2_add").v("f32x4_demote_f64x2_zero").v("f64x2_promote_low_f32x4").set(a);
        }
      }
      f.get(bp).i32(8).op("i32_add").set(bp);
      f.get(ap).i32(32).op("i32_add").tee(ap).get(aEnd).op("i32_lt_u").brIf(0);
    });
    // d = join(demote(acc lo), demote(acc hi)) per row
    for (let row = 0; row < rows; row++) {
      f.get(dTile).get(jb).op("i32_add");
      if (row > 0) f.get(inBytes).i32(row).op("i32_mul").op("i32_add");
      f.get(acc[2 * row]!).v("f32x4_demote_f64x2_zero").get(acc[2 * row + 1]!).v("f32x4_demote_f64x2_zero");
      f.shuffle(JOIN_LOWS).vmem("v128_store");
    }
    f.get(aEnd).set(panel);
  });
}

/**
 * merge_rows(curPtr, dPtr, resPtr, nRows, cols, scale), cols a multiple of 4: for each
 * element of nRows rows, cur (f16 bits) <- f16(f32(cur) + f32(d * scale)) — mergeTensor's
 * arithmetic, four lanes at a time — and per row res[2 i] = elements whose bits changed,
 * res[2 i + 1] = first column that became Inf/NaN from a finite value, or -1.
 * f16 -> f32: the bits moved into place and scaled by 2^112 (exact for normals and
 * subnormals), Inf/NaN given an all-ones exponent. f32 -> f16, round to nearest even
 * (F. Giesen's float_to_half_fast3_rtne): normals add 0xfff plus the lowest kept bit before
 * the shift; subnormals are rounded by the float adder itself (|x| + 0.5 leaves the f16
 * subnormal's bits at the bottom of the mantissa); >= 65536 and Inf give Inf, NaN 0x7e00.
 */
function emitMergeRows(m: ModuleBuilder): void {
  const f = m.func("merge_rows", [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.f32]);
  const [curPtr, dPtr, resPtr, nRows, cols, scale] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const i = f.local(ValType.i32), j = f.local(ValType.i32), cur = f.local(ValType.i32), d = f.local(ValType.i32);
  const bad = f.local(ValType.i32), bits = f.local(ValType.i32), resRow = f.local(ValType.i32);
  const [old, x, sign, a, h, cnt, infNan, scaleV] = Array.from({ length: 8 }, () => f.local(ValType.v128));
  const c = (k: number): void => void f.i32(k | 0).v("i32x4_splat");
  const op = (...names: Parameters<FuncBuilder["v"]>[0][]): void => names.forEach((n) => f.v(n));
  f.get(scale).v("f32x4_splat").set(scaleV);
  f.get(curPtr).set(cur);
  f.get(dPtr).set(d);
  f.forRange(i, () => f.i32(0), nRows, 1, () => {
    c(0); f.set(cnt);
    f.i32(-1).set(bad);
    f.forRange(j, () => f.i32(0), cols, 4, () => {
      f.get(cur).vmem("i32x4_load16x4_u").set(old);
      f.get(old); c(0x7c00); op("v128_and"); c(0x7c00); op("i32x4_eq"); f.set(infNan);
      // w = f32(old): bitselect(o | 0x7f800000, o * 2^112, infNan) | sign, o = (old & 0x7fff) << 13
      f.get(old); c(0x7fff); op("v128_and"); f.i32(13).v("i32x4_shl").set(x);
      f.get(x); c(0x7f800000); op("v128_or");
      f.get(x).f32(2 ** 112); op("f32x4_splat", "f32x4_mul");
      f.get(infNan); op("v128_bitselect");
      f.get(old); c(0x8000); op("v128_and"); f.i32(16).v("i32x4_shl"); op("v128_or");
      // x = bits(w + f32(d * scale))
      f.get(d).vmem("v128_load").get(scaleV); op("f32x4_mul", "f32x4_add"); f.set(x);
      // h = f16(x): sign, a = |x| bits
      f.get(x); c(0x80000000); op("v128_and"); f.tee(sign).get(x); op("v128_xor"); f.set(a);
      // big ? (a > Inf bits ? 0x7e00 : 0x7c00) : small ? bits(asfloat(a) + 0.5) - 0x3f000000 : normal
      c(0x7e00); c(0x7c00); f.get(a); c(0x7f800000); op("i32x4_gt_s", "v128_bitselect");
      f.get(a); f.f32(0.5); op("f32x4_splat", "f32x4_add"); c(0x3f000000); op("i32x4_sub");
      f.get(a); c(0xc8000fff); op("i32x4_add"); f.get(a).i32(13).v("i32x4_shr_u"); c(1); op("v128_and", "i32x4_add");
      f.i32(13).v("i32x4_shr_u");
      c(0x38800000); f.get(a); op("i32x4_gt_u", "v128_bitselect");
      f.get(a); c(0x47800000); op("i32x4_ge_u", "v128_bitselect");
      f.get(sign).i32(16).v("i32x4_shr_u"); op("v128_or"); f.set(h);
      // the first lane that turned Inf/NaN (h's exponent all ones, old's not)
      f.get(h); c(0x7c00); op("v128_and"); c(0x7c00); op("i32x4_eq"); f.get(infNan); op("v128_andnot", "i32x4_bitmask");
      f.tee(bits).i32(0).op("i32_ne").get(bad).i32(0).op("i32_lt_s").op("i32_and");
      f.if(() => f.get(j).get(bits).op("i32_ctz").op("i32_add").set(bad));
      // cnt += (h != old) per lane
      f.get(cnt).get(h).get(old); op("i32x4_eq", "v128_not", "i32x4_sub"); f.set(cnt);
      // store the four f16 (the low halves of the lanes)
      f.get(cur).get(h).get(h).shuffle([0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13]).v("v128_store64_lane").raw(3, 0, 0);
      f.get(cur).i32(8).op("i32_add").set(cur);
      f.get(d).i32(16).op("i32_add").set(d);
    });
    f.get(resPtr).get(i).i32(3).op("i32_shl").op("i32_add").set(resRow);
    f.get(resRow);
    for (let lane = 0; lane < 4; lane++) {
      f.get(cnt).lane("i32x4_extract_lane", lane);
      if (lane > 0) f.op("i32_add");
    }
    f.mem("i32_store");
    f.get(resRow).get(bad).mem("i32_store", 4);
  });
}

export interface DeltaExports {
  delta_rows(aPtr: number, bPtr: number, dPtr: number, nRows: number, inDim: number, r: number): void;
  merge_rows(curPtr: number, dPtr: number, resPtr: number, nRows: number, cols: number, scale: number): void;
}

/** What a block of merged rows gave: changed elements, and the first that turned Inf/NaN. */
export interface MergedRows {
  readonly changed: number;
  /** Element index (into the whole tensor) of the first new Inf/NaN, or -1. */
  readonly bad: number;
  /** The unscaled delta at `bad`. */
  readonly badDelta: number;
}

/** A delta engine: WasmDelta (this thread) or DeltaPool (threads). */
export interface DeltaKernels {
  rows(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): void;
  /** Rows i0 .. i1-1 of cur (the whole (rows, cols) f16 tensor) += scale · (B @ A), in place. */
  mergeRows(a: Float32Array, b: Float32Array, r: number, cols: number, i0: number, i1: number, cur: Uint16Array, scale: number): MergedRows;
}

/** Pointers of one staged job (bytes into the memory). */
export interface StagedJob {
  readonly n: number;
  readonly aPtr: number;
  readonly bPtr: number;
  readonly dPtr: number;
  readonly curPtr: number;
  readonly resPtr: number;
}

/**
 * One job's layout in a WebAssembly memory (own or shared with workers): A at 0, packed (kept in
 * place while row blocks of the same tensor follow), then B's rows i0 .. i1-1 (both float64), the zeroed
 * delta rows, and for a merge the f16 rows of the weight and two result ints per row; the
 * memory grows as needed.
 */
export class DeltaStaging {
  private lastA: Float32Array | undefined;

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** Stage rows i0 .. i1-1 of B @ A (and, with cur, of the weight they are added to). */
  stage(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, cur?: Uint16Array): StagedJob {
    const n = i1 - i0;
    const aPtr = 0, bPtr = aPtr + a.length * 8, dPtr = bPtr + n * r * 8, curPtr = dPtr + n * inDim * 4;
    const resPtr = curPtr + Math.ceil((cur ? n * inDim * 2 : 0) / 8) * 8;
    const need = resPtr + (cur ? n * 8 : 0);
    if (need > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE));
      this.lastA = undefined;
    }
    if (this.lastA !== a) {
      packA(a, r, inDim, new Float64Array(this.memory.buffer), aPtr / 8); // stays in place for every row block of the same tensor
      this.lastA = a;
    }
    new Float64Array(this.memory.buffer, bPtr, n * r).set(b.subarray(i0 * r, i1 * r)); // widened: exact
    new Float32Array(this.memory.buffer).fill(0, dPtr / 4, curPtr / 4);
    if (cur) new Uint16Array(this.memory.buffer, curPtr, n * inDim).set(cur.subarray(i0 * inDim, i1 * inDim));
    return { n, aPtr, bPtr, dPtr, curPtr, resPtr };
  }

  /** d <- the n output rows (n, inDim) at dPtr. */
  collect(d: Float32Array, job: StagedJob, inDim: number): void {
    d.set(new Float32Array(this.memory.buffer, job.dPtr, job.n * inDim));
  }

  /** The merged rows back into cur (unless one turned Inf/NaN), with merge_rows' counts. */
  collectMerge(job: StagedJob, cols: number, i0: number, cur: Uint16Array): MergedRows {
    const res = new Int32Array(this.memory.buffer, job.resPtr, job.n * 2);
    let changed = 0;
    for (let i = 0; i < job.n; i++) {
      if (res[2 * i + 1] >= 0) {
        const k = i * cols + res[2 * i + 1];
        return { changed, bad: i0 * cols + k, badDelta: new Float32Array(this.memory.buffer, job.dPtr, job.n * cols)[k] };
      }
      changed += res[2 * i];
    }
    cur.set(new Uint16Array(this.memory.buffer, job.curPtr, job.n * cols), i0 * cols);
    return { changed, bad: -1, badDelta: 0 };
  }
}

/** A WebAssembly delta engine with its own memory; undefined where SIMD is unavailable. */
export class WasmDelta implements DeltaKernels {
  private readonly staging: DeltaStaging;
  private readonly fns: DeltaExports;

  private constructor() {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(buildDeltaModule()), { env: { memory } });
    this.fns = inst.exports as unknown as DeltaExports;
    this.staging = new DeltaStaging(memory);
  }

  static create(): WasmDelta | undefined {
    try {
      return new WasmDelta();
    } catch {
      return undefined;
    }
  }

  /** Rows i0 .. i1-1 of B @ A into d ((i1 - i0), inDim). inDim must be a multiple of 4. */
  rows(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): void {
    const job = this.staging.stage(a, b, r, inDim, i0, i1);
    this.fns.delta_rows(job.aPtr, job.bPtr, job.dPtr, job.n, inDim, r);
    this.staging.collect(d, job, inDim);
  }

  mergeRows(a: Float32Array, b: Float32Array, r: number, cols: number, i0: number, i1: number, cur: Uint16Array, scale: number): MergedRows {
    const job = this.staging.stage(a, b, r, cols, i0, i1, cur);
    this.fns.delta_rows(job.aPtr, job.bPtr, job.dPtr, job.n, cols, r);
    this.fns.merge_rows(job.curPtr, job.dPtr, job.resPtr, job.n, cols, scale);
    return this.staging.collectMerge(job, cols, i0, cur);
  }
}
