// What a thread does with its share of an inference job: the same code on the main thread
// (thread 0) and the workers (task.ts). Matmul jobs call the kernel instance over the job's
// memory; attention jobs build views on the job's memory and run a range of heads.

import { AttentionRef, KV_CACHE_TYPES, kvRowUnits, ReferenceBackend, type KVRows } from "@llamats/tensor";
import { instantiateKernels, type KernelExports } from "@llamats/kernels";

/** The inference task's job kinds (the pool's OP). */
export const JobOp = { matmul: 1, attention: 2, swiglu: 5 } as const;

// Args (the pool's ARGS slots). Matmul: the kernel's own arguments (0 .. 10); rowStart/rowEnd
// (indices 2 and 3) are replaced by this thread's share. Every job: its memory index at
// MEMORY_ARG, a matmul's kernel (index into kernelNames) at KERNEL_ARG.
// Attention args: q, k, v, out offsets (bytes), nTokens, pos0, nHeads, nKvHeads, headDim,
// rows of the cache, its storage type (index into KV_CACHE_TYPES); the scale is a float64 at args SCALE_F64 (two ints).
export const ATT = { q: 0, k: 1, v: 2, out: 3, nTokens: 4, pos0: 5, nHeads: 6, nKvHeads: 7, headDim: 8, cacheRows: 9, cacheType: 10 } as const;
// Swiglu args: out, gate, up offsets (bytes); ROWS = elements.
export const SWIGLU = { out: 0, gate: 1, up: 2 } as const;
export const SCALE_F64 = 12; // args 12, 13 (byte offset 112 of the control block: 8-aligned)
export const KERNEL_ARG = 14;
export const MEMORY_ARG = 15;

/** The float64 view of args SCALE_F64 .. + 1. */
export function scaleSlot(args: Int32Array): Float64Array {
  return new Float64Array(args.buffer, args.byteOffset + SCALE_F64 * 4, 1);
}

export class JobRunner {
  private readonly instances: KernelExports[] = [];
  private readonly attn = new AttentionRef(); // a range of heads per thread
  private readonly ref = new ReferenceBackend(); // elementwise ops: the reference's own code
  private readonly args: number[] = [];
  private scale?: Float64Array;

  constructor(
    private readonly module: WebAssembly.Module,
    readonly memories: WebAssembly.Memory[],
    private readonly kernelNames: readonly string[],
  ) {}

  private kernels(m: number): KernelExports {
    while (this.instances.length <= m) this.instances.push(instantiateKernels(this.memories[this.instances.length]!, this.module));
    return this.instances[m]!;
  }

  /** Rows (or heads, or elements) [a, b) of job `op`. */
  run(op: number, argv: Int32Array, a: number, b: number): void {
    if (a >= b) return;
    const m = argv[MEMORY_ARG]!;
    if (op === JobOp.matmul) {
      const args = this.args;
      args.length = 11;
      for (let i = 0; i < 11; i++) args[i] = argv[i]!;
      // Offsets above 2^31 arrive as negative i32; wasm reads them as u32, as intended.
      args[2] = a;
      args[3] = b;
      this.kernels(m)[this.kernelNames[argv[KERNEL_ARG]!]!]!(...args);
      return;
    }
    if (op === JobOp.swiglu) {
      const buf = this.memories[m]!.buffer;
      const view = (i: number) => new Float32Array(buf, (argv[i]! >>> 0) + 4 * a, b - a);
      this.ref.swiglu(view(SWIGLU.out), view(SWIGLU.gate), view(SWIGLU.up));
      return;
    }
    if (op === JobOp.attention) {
      const buf = this.memories[m]!.buffer;
      const g = (i: number) => argv[i]!;
      const nTokens = g(ATT.nTokens);
      const nHeads = g(ATT.nHeads);
      const nKvHeads = g(ATT.nKvHeads);
      const headDim = g(ATT.headDim);
      const cacheType = KV_CACHE_TYPES[g(ATT.cacheType)]!;
      const cacheLen = g(ATT.cacheRows) * kvRowUnits(cacheType, nKvHeads * headDim);
      const u = (i: number) => g(i) >>> 0;
      const q = new Float32Array(buf, u(ATT.q), nTokens * nHeads * headDim);
      const out = new Float32Array(buf, u(ATT.out), nTokens * nHeads * headDim);
      const rows = (i: number): KVRows => cacheType === "f32" ? new Float32Array(buf, u(i), cacheLen)
        : cacheType === "f16" ? new Uint16Array(buf, u(i), cacheLen) : new Uint8Array(buf, u(i), cacheLen);
      const k = rows(ATT.k);
      const v = rows(ATT.v);
      this.attn.run(out, q, k, v, { nTokens, pos0: g(ATT.pos0), nHeads, nKvHeads, headDim, scale: (this.scale ??= scaleSlot(argv))[0]! }, undefined, a, b);
    }
  }
}
