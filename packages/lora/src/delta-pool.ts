// The delta kernel of delta-wasm.ts on several threads: @llamats/tensor's ThreadPool (the one
// pool of llamats) with delta-task.ts, every thread instantiating the kernel over one shared
// WebAssembly memory. Each job (a block of output rows of B @ A) is split by rows between the
// workers and the calling thread, which blocks until all parts are done (merging is
// synchronous). Rows are independent and each element keeps its k order, so the result has
// the same bits whatever the thread count.

import { taskModuleUrl, ThreadPool } from "@llamats/tensor";
import { DArg, deltaShare } from "./delta-task.js";
import { buildDeltaModule, DeltaStaging, MAX_PAGES, type DeltaExports } from "./delta-wasm.js";

export class DeltaPool {
  private readonly run: DeltaExports["delta_rows"];
  private readonly staging: DeltaStaging;

  private constructor(private readonly pool: ThreadPool, memory: WebAssembly.Memory, module: WebAssembly.Module) {
    this.run = (new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DeltaExports).delta_rows;
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

  /** Rows i0 .. i1-1 of B @ A into d ((i1 - i0), inDim); inDim must be a multiple of 4. */
  rows(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): void {
    const { n, bPtr, dPtr } = this.staging.stage(a, b, r, inDim, i0, i1);
    const args = this.pool.args;
    args[DArg.a] = 0;
    args[DArg.b] = bPtr;
    args[DArg.d] = dPtr;
    args[DArg.inDim] = inDim;
    args[DArg.r] = r;
    this.pool.run(0, n, (s, e) => deltaShare(this.run, args, s, e));
    this.staging.collect(d, dPtr, n, inDim);
  }

  dispose(): void {
    this.pool.dispose();
  }
}
