// ReferenceBackend: the plain-TypeScript definition of every Backend op. Faster backends
// are tested against it. Float weights (F32, F16, BF16) are handled here; quantised types
// come from kernels plugged in through the constructor, e.g. the quant package's
// `new ReferenceBackend({ kernels: quantKernels })`. A plugged kernel for a float type
// replaces the built-in one.

import type { AttentionParams, Backend, MatmulKernel, RopeParams, RowDecoder, WeightMatrix } from "../backend.js";
import { LlamatsError } from "../errors.js";
import type { KVRows } from "../kv-types.js";
import { GGMLType, ggmlRowBytes, ggmlTypeInfo } from "../ggml.js";
import { AttentionRef } from "./attention.js";
import { addRef, swigluRef } from "./elementwise.js";
import { matmulByRows, matmulF16, matmulF32 } from "./matmul.js";
import { rmsNormRef } from "./norm.js";
import { ropeRef } from "./rope.js";
import { floatRowDecoders } from "./rows.js";

export interface TypeKernels {
  readonly matmul: MatmulKernel;
  readonly decodeRow: RowDecoder;
}

export interface ReferenceBackendOptions {
  /** Extra (or replacement) kernels per weight type, e.g. quantKernels from @llamats/quant. */
  readonly kernels?: Partial<Record<GGMLType, TypeKernels>>;
}

export class ReferenceBackend implements Backend {
  readonly name = "reference";
  private readonly kernels = new Map<number, TypeKernels>();
  private readonly attn = new AttentionRef();

  constructor(opts: ReferenceBackendOptions = {}) {
    for (const [type, decodeRow] of Object.entries(floatRowDecoders)) {
      const id = Number(type);
      const matmul = id === GGMLType.F32 ? matmulF32 : id === GGMLType.F16 ? matmulF16(matmulByRows(decodeRow!)) : matmulByRows(decodeRow!);
      this.kernels.set(id, { decodeRow: decodeRow!, matmul });
    }
    for (const [type, k] of Object.entries(opts.kernels ?? {})) {
      if (k) this.kernels.set(Number(type), k);
    }
  }

  allocF32(n: number): Float32Array {
    return new Float32Array(n);
  }

  allocBytes(n: number): Uint8Array {
    return new Uint8Array(n);
  }

  supports(type: GGMLType): boolean {
    return this.kernels.has(type);
  }

  /** The row decoder for a type (throws a LlamatsError for an unsupported type). */
  decodeRow(w: WeightMatrix, row: number, out: Float32Array, outOffset: number): void {
    this.kernelFor(w).decodeRow(w, row, out, outOffset);
  }

  matmul(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
    this.kernelFor(w).matmul(out, w, x, nTokens);
  }

  embedding(out: Float32Array, table: WeightMatrix, ids: ArrayLike<number>): void {
    const k = this.kernelFor(table);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= table.rows) {
        throw new LlamatsError(`token id ${id} out of range: the embedding table has ${table.rows} rows`);
      }
      k.decodeRow(table, id, out, i * table.cols);
    }
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, dim: number, eps: number): void {
    rmsNormRef(out, x, weight, dim, eps);
  }

  rope(x: Float32Array, nHeads: number, positions: ArrayLike<number>, params: RopeParams): void {
    ropeRef(x, nHeads, positions, params);
  }

  attention(out: Float32Array, q: Float32Array, kCache: KVRows, vCache: KVRows,
    params: AttentionParams, probsOut?: Float32Array): void {
    this.attn.run(out, q, kCache, vCache, params, probsOut);
  }

  add(out: Float32Array, a: Float32Array, b: Float32Array): void {
    addRef(out, a, b);
  }

  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
    swigluRef(out, gate, up);
  }

  dispose(): void {}

  private kernelFor(w: WeightMatrix): TypeKernels {
    const k = this.kernels.get(w.type);
    if (!k) {
      const name = ggmlTypeInfo(w.type)?.name ?? `type ${w.type}`;
      throw new LlamatsError(`the ${this.name} backend has no kernel for ${name} weights (is the quant package's kernel set plugged in?)`);
    }
    if (w.bytes.byteLength < w.rows * ggmlRowBytes(w.type, w.cols)) {
      throw new LlamatsError(`weight matrix (${w.rows}, ${w.cols}) of type ${ggmlTypeInfo(w.type)?.name}: ${w.bytes.byteLength} bytes is too few`);
    }
    return k;
  }
}
