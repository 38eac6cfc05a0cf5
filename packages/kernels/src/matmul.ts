// Matrix products on the WebAssembly kernels: places weights in the arena (once per weight
// buffer), quantises activations into per-memory scratch, and describes each product as a
// MatmulJob — kernel name, memory and arguments — that any thread holding an instance of the
// kernel module over the same memories can run for any row range. The single-threaded
// WasmBackend runs jobs itself; the worker backend splits rows between threads.

import { f16ToF32, f32ToF16, GGMLType, ggmlRowBytes, ggmlTypeInfo, type WeightMatrix } from "@llamats/tensor";
import type { Region, SharedArena } from "./arena.js";
import { FLOAT_KERNEL_TYPES, instantiateKernels, kernelModule, kernelName, QUANTIZE_Q8_0, QUANT_KERNEL_TYPES, type KernelExports } from "./kernelModule.js";

export interface MatmulJob {
  readonly kernel: string;
  readonly memory: number;
  /** Kernel arguments; ROW_START_ARG and ROW_END_ARG are filled in per thread. */
  readonly args: number[];
  readonly rows: number;
}
export const ROW_START_ARG = 2;
export const ROW_END_ARG = 3;

interface PlacedWeight {
  readonly memory: number;
  readonly offset: number;
}

interface Scratch {
  region: Region;
}

export function hasWasmKernel(type: GGMLType): boolean {
  return QUANT_KERNEL_TYPES.includes(type) || FLOAT_KERNEL_TYPES.includes(type);
}

export class WasmMatmul {
  private readonly instances: KernelExports[] = [];
  private readonly placed = new WeakMap<Uint8Array, PlacedWeight>();
  private readonly scratch: (Scratch | undefined)[] = [];

  constructor(
    readonly arena: SharedArena,
    readonly module: WebAssembly.Module = kernelModule(),
  ) {}

  /** The kernel instance over memory m (instantiated on first use). */
  kernels(m: number): KernelExports {
    while (this.instances.length <= m) {
      this.instances.push(instantiateKernels(this.arena.memories[this.instances.length]!, this.module));
    }
    return this.instances[m]!;
  }

  /** Where w's bytes live in the arena; bytes from elsewhere are copied in once. */
  place(w: WeightMatrix): PlacedWeight {
    const known = this.placed.get(w.bytes);
    if (known) return known;
    let p: PlacedWeight | undefined = this.arena.locate(w.bytes);
    if (!p) {
      const r = this.arena.alloc(w.bytes.byteLength);
      this.arena.u8(r).set(w.bytes);
      p = { memory: r.memory, offset: r.offset };
    }
    this.placed.set(w.bytes, p);
    return p;
  }

  /** A scratch region of at least `bytes` in memory m (reused; contents not preserved). */
  private scratchIn(m: number, bytes: number): Region {
    const s = this.scratch[m];
    if (s && s.region.bytes >= bytes) return s.region;
    const want = Math.max(bytes, 2 * (s?.region.bytes ?? 0), 1 << 20);
    // Scratch must live in memory m (the arena keeps a reserve at the end of each memory).
    let region: Region;
    try {
      region = this.allocIn(m, want);
    } catch {
      region = this.allocIn(m, bytes); // no room to grow ahead: exactly what is needed
    }
    this.scratch[m] = { region };
    return region;
  }

  private allocIn(m: number, bytes: number): Region {
    return this.arena.alloc(bytes, 64, m);
  }

  /**
   * Build the job for out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ: activations are
   * quantised/copied into memory's scratch; the result lands in `outView` (copy it out with
   * finish()).
   */
  prepare(w: WeightMatrix, x: Float32Array, nTokens: number): { job: MatmulJob; outView: Float32Array } {
    const info = ggmlTypeInfo(w.type)!;
    const p = this.place(w);
    const m = p.memory;
    const rowBytes = ggmlRowBytes(w.type, w.cols);
    const outBytes = nTokens * w.rows * 4;
    if (info.quantized) {
      const nG = w.cols >> 5;
      const xBytes = nTokens * w.cols * 4;
      const qBytes = nG * nTokens * 32;
      const dBytes = nG * nTokens * 4;
      const region = this.scratchIn(m, outBytes + xBytes + qBytes + 2 * dBytes + 320);
      const buf = this.arena.buffer(m);
      const outOff = region.offset;
      const xOff = alignUp(outOff + outBytes, 64);
      const xqOff = alignUp(xOff + xBytes, 64);
      const xdOff = alignUp(xqOff + qBytes, 64);
      const xsOff = alignUp(xdOff + dBytes, 64);
      this.quantize(m, buf, x, nTokens, w.cols, xOff, xqOff, xdOff, xsOff);
      const nBlocks = w.cols / info.blockSize;
      const args = [p.offset, rowBytes, 0, w.rows, nBlocks, xqOff, xdOff, xsOff, nTokens, outOff, w.rows];
      return { job: { kernel: kernelName(w.type), memory: m, args, rows: w.rows }, outView: new Float32Array(buf, outOff, nTokens * w.rows) };
    }
    const xBytes = nTokens * w.cols * 4;
    const region = this.scratchIn(m, outBytes + xBytes + 64);
    const buf = this.arena.buffer(m);
    const outOff = region.offset;
    const xOff = alignUp(outOff + outBytes, 64);
    new Float32Array(buf, xOff, nTokens * w.cols).set(x.subarray(0, nTokens * w.cols));
    const args = [p.offset, rowBytes, 0, w.rows, w.cols, xOff, nTokens, outOff, w.rows];
    return { job: { kernel: kernelName(w.type), memory: m, args, rows: w.rows }, outView: new Float32Array(buf, outOff, nTokens * w.rows) };
  }

  /**
   * Q8_0 activations of x (nTokens, cols) into xq / xd / xs (layout in activations.ts): codes,
   * f32 scales and code sums in SIMD, then the f16 rounding of the scales here (one value
   * per 32 activations). Equal, byte for byte, to quantizeActivationsQ8_0.
   */
  private quantize(m: number, buf: SharedArrayBuffer, x: Float32Array, nTokens: number, cols: number,
    xOff: number, xqOff: number, xdOff: number, xsOff: number): void {
    new Float32Array(buf, xOff, nTokens * cols).set(x.subarray(0, nTokens * cols));
    this.kernels(m)[QUANTIZE_Q8_0]!(xOff, nTokens, cols, xqOff, xdOff, xsOff);
    const n = (cols >> 5) * nTokens;
    const xd = new Float32Array(buf, xdOff, n);
    const xs = new Float32Array(buf, xsOff, n);
    const sums = new Int32Array(buf, xsOff, n);
    for (let i = 0; i < n; i++) {
      const dh = f16ToF32(f32ToF16(xd[i]!));
      xd[i] = dh;
      xs[i] = Math.fround(dh * sums[i]!);
    }
  }

  /** Run rows [rowStart, rowEnd) of a job on this thread. */
  run(job: MatmulJob, rowStart: number, rowEnd: number): void {
    if (rowStart >= rowEnd) return;
    const a = job.args.slice();
    a[ROW_START_ARG] = rowStart;
    a[ROW_END_ARG] = rowEnd;
    this.kernels(job.memory)[job.kernel]!(...a);
  }

  /** Whole product on this thread. */
  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
    const { job, outView } = this.prepare(w, x, nTokens);
    this.run(job, 0, job.rows);
    out.set(outView);
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

export { GGMLType };
