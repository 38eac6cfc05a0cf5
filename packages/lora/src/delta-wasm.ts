// The LoRA delta product B @ A in WebAssembly SIMD, emitted with @llamats/kernels' module
// builder. Same arithmetic as the TypeScript loop in merge.ts, bit for bit: per output
// element and per k in order, acc = f32( f64(acc) + f64(b) * f64(a) ) — the product of two
// float32 is exact in float64, the sum is rounded once to float64, then to float32, exactly
// what `Math.fround(acc + b * a)` does. Two f64x2 lanes per half of a v128 of four floats.
// Used when inDim is a multiple of 4 (every LLaMA width); the TypeScript loop otherwise.

import { ModuleBuilder, ValType } from "@llamats/kernels";

const PAGE = 65536;

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOWS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

export const MAX_PAGES = 65536;

/** The kernel module; `shared` for a memory shared with worker threads (delta-pool.ts). */
export function buildDeltaModule(shared = false): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared });
  // delta_rows(aPtr, bPtr, dPtr, nRows, inDim, r): d (nRows, inDim) += B (nRows, r) @ A (r, inDim), d pre-zeroed.
  const f = m.func("delta_rows", [ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32, ValType.i32]);
  const [aPtr, bPtr, dPtr, nRows, inDim, r] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const i = f.local(ValType.i32), k = f.local(ValType.i32), jb = f.local(ValType.i32);
  const inBytes = f.local(ValType.i32), dRow = f.local(ValType.i32), aRow = f.local(ValType.i32);
  const bk = f.local(ValType.v128), x = f.local(ValType.v128), dv = f.local(ValType.v128), lo = f.local(ValType.v128);
  f.get(inDim).i32(2).op("i32_shl").set(inBytes);
  f.forRange(i, () => f.i32(0), nRows, 1, () => {
    f.get(dPtr).get(i).get(inBytes).op("i32_mul").op("i32_add").set(dRow);
    f.forRange(k, () => f.i32(0), r, 1, () => {
      // bk = splat(f64(b[i*r + k]))
      f.get(bPtr).get(i).get(r).op("i32_mul").get(k).op("i32_add").i32(2).op("i32_shl").op("i32_add").mem("f32_load");
      f.op("f64_promote_f32").v("f64x2_splat").set(bk);
      f.get(aPtr).get(k).get(inBytes).op("i32_mul").op("i32_add").set(aRow);
      f.forRange(jb, () => f.i32(0), inBytes, 16, () => {
        f.get(aRow).get(jb).op("i32_add").vmem("v128_load").set(x);
        f.get(dRow).get(jb).op("i32_add").vmem("v128_load").set(dv);
        // lo = f64(d[0..1]) + f64(a[0..1]) * bk
        f.get(dv).v("f64x2_promote_low_f32x4");
        f.get(x).v("f64x2_promote_low_f32x4").get(bk).v("f64x2_mul");
        f.v("f64x2_add").v("f32x4_demote_f64x2_zero").set(lo);
        // store address, then join(lo, demote(f64(d[2..3]) + f64(a[2..3]) * bk))
        f.get(dRow).get(jb).op("i32_add");
        f.get(lo);
        f.get(dv).get(dv).shuffle(HIGH_HALF).v("f64x2_promote_low_f32x4");
        f.get(x).get(x).shuffle(HIGH_HALF).v("f64x2_promote_low_f32x4").get(bk).v("f64x2_mul");
        f.v("f64x2_add").v("f32x4_demote_f64x2_zero");
        f.shuffle(JOIN_LOWS).vmem("v128_store");
      });
    });
  });
  return m.encode();
}

export interface DeltaExports {
  delta_rows(aPtr: number, bPtr: number, dPtr: number, nRows: number, inDim: number, r: number): void;
}

/**
 * One delta job's layout in a WebAssembly memory (own or shared with workers): A at 0 (kept
 * in place while row blocks of the same tensor follow), then B's rows i0 .. i1-1, then the
 * zeroed output rows; the memory grows as needed.
 */
export class DeltaStaging {
  private lastA: Float32Array | undefined;

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** Stage rows i0 .. i1-1 of B @ A; returns the pointers delta_rows takes. */
  stage(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number): { n: number; bPtr: number; dPtr: number } {
    const n = i1 - i0;
    const aBytes = a.length * 4, bBytes = n * r * 4, dBytes = n * inDim * 4;
    const bPtr = aBytes, dPtr = aBytes + bBytes, need = dPtr + dBytes;
    if (need > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / PAGE));
      this.lastA = undefined;
    }
    const heap = new Float32Array(this.memory.buffer);
    if (this.lastA !== a) {
      heap.set(a, 0); // A stays in place for every row block of the same tensor
      this.lastA = a;
    }
    heap.set(b.subarray(i0 * r, i1 * r), bPtr / 4);
    heap.fill(0, dPtr / 4, need / 4);
    return { n, bPtr, dPtr };
  }

  /** d <- the n output rows (n, inDim) at dPtr. */
  collect(d: Float32Array, dPtr: number, n: number, inDim: number): void {
    d.set(new Float32Array(this.memory.buffer, dPtr, n * inDim));
  }
}

/** A WebAssembly delta engine with its own memory; undefined where SIMD is unavailable. */
export class WasmDelta {
  private readonly staging: DeltaStaging;
  private readonly fn: DeltaExports["delta_rows"];

  private constructor() {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(buildDeltaModule()), { env: { memory } });
    this.fn = (inst.exports as unknown as DeltaExports).delta_rows;
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
    const { n, bPtr, dPtr } = this.staging.stage(a, b, r, inDim, i0, i1);
    this.fn(0, bPtr, dPtr, n, inDim, r);
    this.staging.collect(d, dPtr, n, inDim);
  }
}
