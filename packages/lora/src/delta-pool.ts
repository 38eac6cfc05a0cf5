// The delta kernel of delta-wasm.ts on several threads: @llamats/tensor's ThreadPool (the one
// pool of llamats) with delta-task.ts, every thread instantiating the kernel over one shared
// WebAssembly memory. Each job (a block of output rows of B @ A) is split by rows between the
// workers and the calling thread, which blocks until all parts are done (merging is
// synchronous). Rows are independent and each element keeps its k order, so the result has
// the same bits whatever the thread count.

import { taskModuleUrl, ThreadPool } from "@llamats/tensor";
import { DArg, DeltaOp, deltaShare, scaleBits } from "./delta-task.js";
import { buildDeltaModule, DeltaStaging, MAX_PAGES, type DeltaExports, type DeltaKernels, type MergedRows, type StagedJob } from "./delta-wasm.js";

export class DeltaPool implements DeltaKernels {
  private readonly k: DeltaExports;
  private readonly staging: DeltaStaging;

  private constructor(private readonly pool: ThreadPool, memory: WebAssembly.Memory, module: WebAssembly.Module) {
    this.k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DeltaExports;
    this.staging = new DeltaStaging(memory);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** A ready pool of `threads` (>= 2), or undefined where shared WebAssembly memory or workers fail. */
  static create(threads: number): DeltaPool | undefined {
    let pool: ThreadPool | undefined;
    try {
      const module = new WebAssembly.Module(buildDeltaModule(true));
      const memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
      pool = new ThreadPool({ threads, taskModule: taskModuleUrl(import.meta.url, "./delta-task"), taskInit: module, buffers: [memory], name: "LoRA delta" });
      pool.waitReady(); // the merge API is synchronous
      return new DeltaPool(pool, memory, module);
    } catch {
      pool?.dispose();
      return undefined;
    }
  }

  private runJob(op: number, job: StagedJob, inDim: number, r: number, scale = 0): void {
    const args = this.pool.args;
    args[DArg.a] = job.aPtr;
    args[DArg.b] = job.bPtr;
    args[DArg.d] = job.dPtr;
    args[DArg.cur] = job.curPtr;
    args[DArg.res] = job.resPtr;
    args[DArg.inDim] = inDim;
    args[DArg.r] = r;
    args[DArg.scaleBits] = scaleBits(scale);
    this.pool.run(op, job.n, (s, e) => deltaShare(this.k, op, args, s, e));
  }

  /** Rows i0 .. i1-1 of B @ A into d ((i1 - i0), inDim); inDim must be a multiple of 4. */
  rows(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): void {
    const job = this.staging.stage(a, b, r, inDim, i0, i1);
    this.runJob(DeltaOp.delta, job, inDim, r);
    this.staging.collect(d, job, inDim);
  }

  mergeRows(a: Float32Array, b: Float32Array, r: number, cols: number, i0: number, i1: number, cur: Uint16Array, scale: number): MergedRows {
    const job = this.staging.stage(a, b, r, cols, i0, i1, cur);
    this.runJob(DeltaOp.merge, job, cols, r, scale);
    return this.staging.collectMerge(job, cols, i0, cur);
  }

  dispose(): void {
    this.pool.dispose();
  }
}
