// WorkerBackend: the WasmBackend with its matrix products and attention split between
// threads: @llamats/tensor's ThreadPool (the one pool of llamats: the main thread + N-1
// worker_threads in Node, Web Workers in the browser build) running task.ts, every thread instantiating the same compiled kernel module
// over the same shared WebAssembly memories (weights are never copied per worker). Per op the
// main thread publishes a job, runs its own share, then waits for the workers (spin briefly,
// then Atomics.wait). "auto" spinning turns itself off when the machine does not have a free
// core per thread, where a spinning barrier collapses (see docs/WASM.md).

import { defaultThreadCount, KV_CACHE_TYPES, kvRowCount, kvRowsType, share, taskModuleUrl, ThreadPool, type AttentionParams, type DispatchStats, type KVRows } from "@llamats/tensor";
import { allKernelNames, WasmBackend, type MatmulJob, type WasmBackendOptions } from "@llamats/kernels";
import { ATT, JobOp, JobRunner, KERNEL_ARG, MEMORY_ARG, scaleSlot, SWIGLU } from "./runner.js";
import type { InferenceTaskInit } from "./task.js";

export interface WorkerBackendOptions extends WasmBackendOptions {
  /** Threads including the main thread (default: available cores). */
  readonly threads?: number;
  /** Spin iterations before blocking; "auto" (default) spins only if a core per thread is free. */
  readonly spin?: number | "auto";
}

export type { DispatchStats };

const KERNEL_NAMES = allKernelNames();
const SPLIT_MIN_ELEMENTS = 2048; // elementwise ops shorter than this run on the main thread

export class WorkerBackend extends WasmBackend {
  override readonly name: string;
  readonly threads: number;
  private readonly pool: ThreadPool;
  private readonly runner: JobRunner;

  /** Use createWorkerBackend(): workers must report ready before the first job. */
  constructor(opts: WorkerBackendOptions = {}) {
    super(opts);
    const init: InferenceTaskInit = { module: this.mm.module, kernelNames: KERNEL_NAMES };
    this.pool = new ThreadPool({
      threads: opts.threads ?? defaultThreadCount(), taskModule: taskModuleUrl(import.meta.url, "./task"), taskInit: init,
      buffers: this.arena.memories, spin: opts.spin ?? "auto", name: "worker",
    });
    this.threads = this.pool.threads;
    this.name = `wasm-workers(${this.threads})`;
    this.runner = new JobRunner(this.mm.module, this.arena.memories, KERNEL_NAMES);
  }

  /** Current spin budget (iterations); "auto" turns it off at run time when it does not pay. */
  get spin(): number {
    return this.pool.spin;
  }

  get stats(): DispatchStats {
    return this.pool.stats;
  }

  /** Resolves once every worker is waiting for jobs. */
  async ready(timeoutMs = 30000): Promise<this> {
    await this.pool.ready(timeoutMs);
    return this;
  }

  /** Run the job in the pool's args on every thread; returns when all are done. */
  private dispatch(op: number, rows: number): void {
    // Memories the arena opened since the last job reach the workers before it.
    for (let m = this.pool.buffers.length; m < this.arena.memories.length; m++) this.pool.share(this.arena.memories[m]!);
    const args = this.pool.args;
    this.pool.run(op, rows, (a, b) => this.runner.run(op, args, a, b));
  }

  /** Test hook: make worker `index` exit at once, as a crash would (the dispatch then throws). */
  killWorkerForTest(index: number): void {
    this.pool.killWorkerForTest(index);
  }

  protected override runJob(job: MatmulJob): void {
    const args = this.pool.args;
    args[KERNEL_ARG] = KERNEL_NAMES.indexOf(job.kernel);
    args[MEMORY_ARG] = job.memory;
    for (let i = 0; i < job.args.length; i++) args[i] = job.args[i]! | 0;
    this.dispatch(JobOp.matmul, job.rows);
  }

  override attention(out: Float32Array, q: Float32Array, kCache: KVRows, vCache: KVRows, params: AttentionParams, probsOut?: Float32Array): void {
    const locs = [q, kCache, vCache, out].map((v) => this.arena.locate(v));
    const m = locs[0]?.memory;
    const type = kvRowsType(kCache);
    const split = this.threads > 1 && !probsOut && m !== undefined && locs.every((l) => l?.memory === m) && params.nHeads % params.nKvHeads === 0 &&
      kvRowsType(vCache) === type;
    if (!split) {
      super.attention(out, q, kCache, vCache, params, probsOut);
      return;
    }
    const args = this.pool.args;
    args[MEMORY_ARG] = m;
    const kvDim = params.nKvHeads * params.headDim;
    const a = (i: number, v: number) => (args[i] = v | 0);
    a(ATT.q, locs[0]!.offset);
    a(ATT.k, locs[1]!.offset);
    a(ATT.v, locs[2]!.offset);
    a(ATT.out, locs[3]!.offset);
    a(ATT.nTokens, params.nTokens);
    a(ATT.pos0, params.pos0);
    a(ATT.nHeads, params.nHeads);
    a(ATT.nKvHeads, params.nKvHeads);
    a(ATT.headDim, params.headDim);
    a(ATT.cacheRows, Math.min(kvRowCount(kCache, kvDim), kvRowCount(vCache, kvDim)));
    a(ATT.cacheType, KV_CACHE_TYPES.indexOf(type));
    scaleSlot(args)[0] = params.scale;
    this.dispatch(JobOp.attention, params.nHeads);
  }

  /**
   * SwiGLU split between the threads when the buffers live in one memory: it is elementwise,
   * so any split gives the reference's bits, and at 2 threads it is no longer serial work
   * (~3 % of a 1.1B token on one thread). Small vectors stay on this thread (dispatch costs more).
   */
  override swiglu(out: Float32Array, gate: Float32Array, up: Float32Array): void {
    const n = out.length;
    const locs = this.threads > 1 && n >= SPLIT_MIN_ELEMENTS && gate.length >= n && up.length >= n ? [out, gate, up].map((v) => this.arena.locate(v)) : [];
    const m = locs[0]?.memory;
    if (m === undefined || !locs.every((l) => l?.memory === m)) {
      super.swiglu(out, gate, up);
      return;
    }
    const args = this.pool.args;
    args[MEMORY_ARG] = m;
    args[SWIGLU.out] = locs[0]!.offset | 0;
    args[SWIGLU.gate] = locs[1]!.offset | 0;
    args[SWIGLU.up] = locs[2]!.offset | 0;
    this.dispatch(JobOp.swiglu, n);
  }

  override dispose(): void {
    this.pool.dispose();
  }
}

/** A ready WorkerBackend (the engine's "wasm" backend). */
export async function createWorkerBackend(opts: WorkerBackendOptions = {}): Promise<WorkerBackend> {
  return new WorkerBackend(opts).ready();
}

export { share };
