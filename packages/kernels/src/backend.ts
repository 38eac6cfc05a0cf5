// WasmBackend: the Backend whose matrix products run on the WebAssembly SIMD kernels, on the
// calling thread. Buffers come from a SharedArena (shared WebAssembly memories), so the
// worker backend (@llamats/workers) reuses this class and only replaces how a MatmulJob's rows
// are run. Ops that are not matrix products (norms, RoPE, attention, elementwise) take a
// small share of a token's time and run on the ReferenceBackend's plain-TS definitions;
// weight types without a kernel (Q2_K, Q3_K, BF16) fall back to dequantise-and-dot.

import {
  LlamatsError, ReferenceBackend, ggmlRowBytes, ggmlTypeInfo,
  type AttentionParams, type Backend, type GGMLType, type KVRows, type RopeParams, type WeightMatrix,
} from "@llamats/tensor";
import { quantKernelsF32 } from "@llamats/quant";
import { SharedArena, type ArenaOptions } from "./arena.js";
import { hasWasmKernel, WasmMatmul, type MatmulJob } from "./matmul.js";
import { kernelModule } from "./kernelModule.js";
import { unpackRowQ4_0x4 } from "./repack.js";

export interface WasmBackendOptions extends ArenaOptions {
  readonly arena?: SharedArena;
  /** Relaxed-SIMD kernels (default: when available; see kernelModule.ts). */
  readonly relaxed?: boolean;
  /** Repack Q4_0 weights to Q4_0x4 (default true; relaxed SIMD only; see repack.ts). */
  readonly repack?: boolean;
}

export class WasmBackend implements Backend {
  readonly name: string = "wasm";
  readonly arena: SharedArena;
  readonly mm: WasmMatmul;
  protected readonly ref: ReferenceBackend;

  constructor(opts: WasmBackendOptions = {}) {
    this.arena = opts.arena ?? new SharedArena(opts);
    this.mm = new WasmMatmul(this.arena, kernelModule({ relaxed: opts.relaxed }), { repack: opts.repack });
    this.ref = new ReferenceBackend({ kernels: quantKernelsF32 }); // types without a WASM kernel: decode a row, float dot
  }

  allocF32(n: number): Float32Array {
    return this.arena.f32(this.arena.alloc(n * 4));
  }

  allocBytes(n: number): Uint8Array {
    return this.arena.u8(this.arena.alloc(n));
  }

  supports(type: GGMLType): boolean {
    return hasWasmKernel(type) || this.ref.supports(type);
  }

  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
    if (out.length < nTokens * w.rows || x.length < nTokens * w.cols) {
      throw new LlamatsError(`matmul: buffers too small for (${nTokens}, ${w.cols}) x (${w.rows}, ${w.cols})ᵀ`);
    }
    const info = ggmlTypeInfo(w.type);
    if (!info) throw new LlamatsError(`matmul: unknown ggml type ${w.type}`);
    if (w.cols % info.blockSize !== 0 || w.bytes.byteLength < w.rows * ggmlRowBytes(w.type, w.cols)) {
      throw new LlamatsError(`matmul: a ${info.name} weight (${w.rows}, ${w.cols}) needs ${w.rows * (w.cols / info.blockSize) * info.bytesPerBlock} bytes, has ${w.bytes.byteLength}`);
    }
    if (!hasWasmKernel(w.type) || (info.quantized && w.cols % 32 !== 0)) {
      this.ref.matmul(out, w, x, nTokens);
      return;
    }
    const { job, outView } = this.mm.prepare(w, x, nTokens);
    this.runJob(job);
    out.set(outView);
  }

  /** Run every row of a job; the worker backend overrides this to split rows. */
  protected runJob(job: MatmulJob): void {
    this.mm.run(job, 0, job.rows);
  }

  embedding(out: Float32Array, table: WeightMatrix, ids: ArrayLike<number>): void {
    if (!this.mm.isRepacked(table.bytes)) {
      this.ref.embedding(out, table, ids);
      return;
    }
    // A tied classifier's table was repacked by matmul: take each row back to standard Q4_0.
    const row = new Uint8Array(ggmlRowBytes(table.type, table.cols));
    const one: WeightMatrix = { type: table.type, rows: 1, cols: table.cols, bytes: row };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= table.rows) {
        throw new LlamatsError(`token id ${id} out of range: the embedding table has ${table.rows} rows`);
      }
      unpackRowQ4_0x4(table.bytes, table.rows, table.cols, id, row);
      this.ref.embedding(out.subarray(i * table.cols, (i + 1) * table.cols), one, [0]);
    }
  }
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, dim: number, eps: number): void {
    this.ref.rmsNorm(out, x, weight, dim, eps);
  }
  rope(x: Float32Array, nHeads: number, positions: ArrayLike<number>, params: RopeParams): void {
    this.ref.rope(x, nHeads, positions, params);
  }
  attention(out: Float32Array, q: Float32Array, kCache: KVRows, vCache: KVRows, params: AttentionParams, probsOut?: Float32Array): void {
    this.ref.attention(out, q, kCache, vCache, params, probsOut);
  }
  add(out: Float32Array, a: Float32Array, b: Float32Array): void {
    this.ref.add(out, a, b);
  }
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
    this.ref.swiglu(out, gate, up);
  }
  dispose(): void {
    // Memories are released with the last reference to the arena.
  }
}
