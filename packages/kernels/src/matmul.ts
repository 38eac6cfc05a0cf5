// Matrix products on the WebAssembly kernels: places weights in the arena (once per weight
// buffer), quantises activations into per-memory scratch, and describes each product as a
// MatmulJob — kernel name, memory and arguments — that any thread holding an instance of the
// kernel module over the same memories can run for any row range. The single-threaded
// WasmBackend runs jobs itself; the worker backend splits rows between threads.

import { f16ToF32, f32ToF16, GGMLType, LlamatsError, ggmlRowBytes, ggmlTypeInfo, type WeightMatrix } from "@llamats/tensor";
import type { Region, SharedArena } from "./arena.js";
import { FLOAT_KERNEL_TYPES, instantiateKernels, kernelModule, kernelName, Q4_0X4_KERNEL, QUANTIZE_Q8_0, QUANTIZE_Q8_0_X4, QUANT_KERNEL_TYPES, REPACK_Q4_0X4, type KernelExports } from "./kernelModule.js";
import { isRepackedQ4_0x4, markRepackedQ4_0x4, q4_0x4Shape, restoreQ4_0x4Groups, Q4_0X4_ROWS } from "./repack.js";

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
  /** The bytes there are in the Q4_0x4 layout (repack.ts). */
  readonly x4: boolean;
}

export interface WasmMatmulOptions {
  /**
   * Repack Q4_0 weights to Q4_0x4 where they are placed (default: true when the module has
   * the relaxed-SIMD Q4_0x4 kernel, unless LLAMATS_WASM_REPACK=0). Weights already in the arena are repacked in place, so
   * their bytes then hold that layout (the backend's embedding reads it; see repack.ts).
   */
  readonly repack?: boolean;
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
  /** "memory:offset" of every matrix repacked in place, whatever view later names it. */
  private readonly repackedAt = new Set<string>();
  private readonly scratch: (Scratch | undefined)[] = [];

  /** Whether Q4_0 weights are repacked to Q4_0x4 when placed. */
  readonly repack: boolean;
  private readonly hasX4: boolean;

  constructor(
    readonly arena: SharedArena,
    readonly module: WebAssembly.Module = kernelModule(),
    opts: WasmMatmulOptions = {},
  ) {
    const hasX4 = WebAssembly.Module.exports(module).some((e) => e.name === Q4_0X4_KERNEL);
    this.hasX4 = hasX4;
    const env = (globalThis as { process?: NodeJS.Process }).process?.env?.LLAMATS_WASM_REPACK;
    this.repack = (opts.repack ?? env !== "0") && hasX4;
  }

  /** The kernel instance over memory m (instantiated on first use). */
  kernels(m: number): KernelExports {
    while (this.instances.length <= m) {
      this.instances.push(instantiateKernels(this.arena.memories[this.instances.length]!, this.module));
    }
    return this.instances[m]!;
  }

  /**
   * Where w's bytes live in the arena; bytes from elsewhere are copied in once. Q4_0 weights
   * are repacked to Q4_0x4 on the way (in place when already in the arena: no extra copy).
   */
  place(w: WeightMatrix): PlacedWeight {
    const known = this.placed.get(w.bytes);
    if (known) return known;
    const loc0 = this.arena.locate(w.bytes);
    const already = isRepackedQ4_0x4(w.bytes) || (loc0 !== undefined && this.repackedAt.has(`${loc0.memory}:${loc0.offset}`));
    if (already && !this.hasX4) {
      throw new LlamatsError(`matmul: these ${w.rows}x${w.cols} Q4_0 weights were repacked for the relaxed-SIMD kernel, which this backend lacks`);
    }
    const want = !already && this.repack && q4_0x4Shape(w.type, w.rows, w.cols);
    let loc = loc0;
    if (!loc) {
      const r = this.arena.alloc(w.bytes.byteLength);
      this.arena.u8(r).set(w.bytes);
      loc = { memory: r.memory, offset: r.offset };
    }
    const p: PlacedWeight = { ...loc, x4: already || (want && this.repackInPlace(w, loc.memory, loc.offset)) };
    this.placed.set(w.bytes, p);
    return p;
  }

  /**
   * Repack the standard Q4_0 matrix at (m, offset) to Q4_0x4 in place (wasm: memory.copy
   * of four rows to scratch, transposes back). False, with the bytes standard again, when a
   * scale is Inf/NaN. The bytes of w's view are marked when they are the ones repacked.
   */
  private repackInPlace(w: WeightMatrix, m: number, offset: number): boolean {
    const nBlocks = w.cols / 32;
    const nGroups = Math.floor(w.rows / Q4_0X4_ROWS);
    const scratch = this.scratchIn(m, 72 * nBlocks);
    const done = this.kernels(m)[REPACK_Q4_0X4]!(offset, nGroups, nBlocks, scratch.offset) as unknown as number;
    const bytes = new Uint8Array(this.arena.buffer(m), offset, w.bytes.byteLength);
    if (done < nGroups) {
      restoreQ4_0x4Groups(bytes, w.rows, w.cols, done);
      return false;
    }
    this.repackedAt.add(`${m}:${offset}`);
    if (this.arena.locate(w.bytes)) markRepackedQ4_0x4(w.bytes);
    return true;
  }

  /** Whether these bytes hold Q4_0x4 (repacked here or marked by another backend). */
  isRepacked(bytes: Uint8Array): boolean {
    if (isRepackedQ4_0x4(bytes)) return true;
    const loc = this.arena.locate(bytes);
    return loc !== undefined && this.repackedAt.has(`${loc.memory}:${loc.offset}`);
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
      const x4Bytes = p.x4 ? 48 * nG * nTokens + 16 : 0; // the Q4_0x4 kernel's records after xs
      const region = this.scratchIn(m, outBytes + xBytes + qBytes + 2 * dBytes + x4Bytes + 320);
      const buf = this.arena.buffer(m);
      const outOff = region.offset;
      const xOff = alignUp(outOff + outBytes, 64);
      const xqOff = alignUp(xOff + xBytes, 64);
      const xdOff = alignUp(xqOff + qBytes, 64);
      const xsOff = alignUp(xdOff + dBytes, 64);
      new Float32Array(buf, xOff, nTokens * w.cols).set(x.subarray(0, nTokens * w.cols));
      // The Q4_0x4 kernel reads its own records, the plain kernel (its tail rows) xq / xd / xs.
      if (!p.x4 || w.rows % 4 !== 0) this.quantize(m, buf, nTokens, w.cols, xOff, xqOff, xdOff, xsOff);
      if (p.x4) this.quantizeX4(m, buf, nTokens, w.cols, xOff, alignUp(xsOff + dBytes, 16));
      const nBlocks = w.cols / info.blockSize;
      const args = [p.offset, rowBytes, 0, w.rows, nBlocks, xqOff, xdOff, xsOff, nTokens, outOff, w.rows];
      const kernel = p.x4 ? Q4_0X4_KERNEL : kernelName(w.type);
      return { job: { kernel, memory: m, args, rows: w.rows }, outView: new Float32Array(buf, outOff, nTokens * w.rows) };
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
   * per 32 activations). Equal, byte for byte, to quantizeActivationsQ8_0. x is at xOff.
   */
  private quantize(m: number, buf: SharedArrayBuffer, nTokens: number, cols: number,
    xOff: number, xqOff: number, xdOff: number, xsOff: number): void {
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

  /**
   * The same quantisation into the Q4_0x4 kernel's 48-byte records at recOff (q4_0x4.ts):
   * [0] f16-rounded xd, [4] -8 * sum(codes), [16..47] codes.
   */
  private quantizeX4(m: number, buf: SharedArrayBuffer, nTokens: number, cols: number, xOff: number, recOff: number): void {
    this.kernels(m)[QUANTIZE_Q8_0_X4]!(xOff, nTokens, cols, recOff, 0, 0);
    const n = (cols >> 5) * nTokens;
    const f = new Float32Array(buf, recOff, 12 * n);
    const iv = new Int32Array(buf, recOff, 12 * n);
    for (let i = 0; i < 12 * n; i += 12) {
      f[i] = f16ToF32(f32ToF16(f[i]!));
      iv[i + 1] = -8 * iv[i + 1]!;
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
