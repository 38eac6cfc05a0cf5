// WorkerBackend: the WasmBackend with its matrix products and attention split between
// threads. N threads = the main thread + N-1 worker_threads, all instantiating the same
// compiled kernel module over the same shared WebAssembly memories (weights are never
// copied per worker). Per op the main thread publishes a job in the control block, runs its
// own share, then waits for the workers (spin briefly, then Atomics.wait). Spinning is turned
// off (blocking waits only) when the machine does not have a free core per thread, where a
// spinning barrier collapses (see docs/WASM.md).

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import { LlamatsError, type AttentionParams } from "@llamats/tensor";
import { kernelModule, QUANT_KERNEL_TYPES, FLOAT_KERNEL_TYPES, kernelName, WasmBackend, type MatmulJob, type WasmBackendOptions } from "@llamats/kernels";
import { ARGS, CONTROL_INTS, DEAD, DONE, ERROR, JobOp, KERNEL, MEMORY, N_MEMORIES, OP, ROWS, SEQ, SPIN, share, type WorkerInit } from "./control.js";
import { ATT, JobRunner, scaleSlot, SWIGLU } from "./runner.js";

export interface WorkerBackendOptions extends WasmBackendOptions {
  /** Threads including the main thread (default: available cores). */
  readonly threads?: number;
  /** Spin iterations before blocking; "auto" (default) spins only if a core per thread is free. */
  readonly spin?: number | "auto";
}

export interface DispatchStats {
  jobs: number;
  /** Total ms the main thread waited for workers after finishing its own share. */
  waitMs: number;
}

const KERNEL_NAMES = [...QUANT_KERNEL_TYPES, ...FLOAT_KERNEL_TYPES].map(kernelName);
const SPLIT_MIN_ELEMENTS = 2048; // elementwise ops shorter than this run on the main thread
const DEFAULT_SPIN = 1 << 19; // ~0.5-1.5 ms of Atomics.load: bridges the main thread's serial work between jobs

/**
 * Start the worker script next to this file: worker.js from dist, or worker.ts when running
 * from TypeScript sources under tsx (tests, `--conditions=source`), where the worker must
 * register tsx's loader itself before importing the .ts file.
 */
function startWorker(workerData: WorkerInit, transferList: import("node:worker_threads").MessagePort[]): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url), { workerData, transferList });
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsx = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
  const entry = new URL("./worker.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData, transferList });
}

export class WorkerBackend extends WasmBackend {
  override readonly name: string;
  readonly threads: number;
  /** Current spin budget (iterations); "auto" turns it off at run time when it does not pay. */
  spin: number;
  private readonly spinAuto: boolean;
  private spinJobs = 0; // jobs in the current adaptive window
  private spinMisses = 0; // of which the spin phase ended without the workers done
  readonly stats: DispatchStats = { jobs: 0, waitMs: 0 };
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: import("node:worker_threads").MessagePort[] = [];
  private sentMemories: number;
  private readonly runner: JobRunner;
  private disposed = false;
  private readonly exitCodes: (number | undefined)[] = [];

  /** Use createWorkerBackend(): workers must report ready before the first job. */
  constructor(opts: WorkerBackendOptions = {}) {
    super(opts);
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new LlamatsError(`threads ${threads}: want a positive integer`);
    this.threads = threads;
    this.name = `wasm-workers(${threads})`;
    // Start spinning when there is a core per thread; adaptSpin() stops it at run time when the
    // spin phases keep running out (the machine does not actually give us those cores).
    const spinAuto = threads <= availableParallelism() ? DEFAULT_SPIN : 0;
    this.spinAuto = opts.spin === undefined || opts.spin === "auto";
    this.spin = this.spinAuto ? (threads > 1 ? spinAuto : 0) : (opts.spin as number);
    this.ctl = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
    this.ctl[SPIN] = this.spin;
    this.ctl[N_MEMORIES] = this.arena.memories.length;
    this.sentMemories = this.arena.memories.length;
    const module = this.mm.module;
    this.runner = new JobRunner(module, this.arena.memories, KERNEL_NAMES);
    for (let i = 1; i < threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = {
        module, memories: [...this.arena.memories], control: this.ctl.buffer as SharedArrayBuffer,
        index: i, nThreads: threads, kernelNames: KERNEL_NAMES, port: port2,
      };
      const w = startWorker(init, [port2]);
      w.unref();
      w.on("error", (err) => {
        process.stderr.write(`llamats: worker ${i} failed: ${err.stack ?? err}\n`);
      });
      // A worker that ends without our asking (killed between jobs) fails the next dispatch;
      // one that ends during a job says so itself (worker.ts), waking the waiting main thread.
      w.on("exit", (code) => {
        this.exitCodes[i] = code;
        if (!this.disposed && Atomics.load(this.ctl, DEAD) === 0) Atomics.store(this.ctl, DEAD, i + 1);
      });
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  /** Resolves once every worker is waiting for jobs. */
  async ready(timeoutMs = 30000): Promise<this> {
    const t0 = Date.now();
    while (Atomics.load(this.ctl, DONE) < this.threads - 1) {
      this.checkAlive();
      if (Date.now() - t0 > timeoutMs) throw new LlamatsError(`worker threads did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return this;
  }

  /** Publish new memories to the workers (before a job that may name them). */
  private syncMemories(): void {
    const n = this.arena.memories.length;
    for (; this.sentMemories < n; this.sentMemories++) {
      for (const p of this.ports) p.postMessage(this.arena.memories[this.sentMemories]);
    }
    this.ctl[N_MEMORIES] = n;
  }

  /** Run the job in the control block on every thread; returns when all are done. */
  private dispatch(): void {
    if (this.disposed) throw new LlamatsError("backend used after dispose()");
    const ctl = this.ctl;
    this.checkAlive();
    if (this.threads === 1) {
      this.runner.run(ctl, 0, 1);
      return;
    }
    this.syncMemories();
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    try {
      this.runner.run(ctl, 0, this.threads);
    } finally {
      // Even if our share threw, the workers must finish before the control block is reused.
      const t0 = performance.now();
      const nWorkers = this.threads - 1;
      let done = Atomics.load(ctl, DONE);
      let spun = 0;
      while (done < nWorkers && Atomics.load(ctl, DEAD) === 0) {
        // Spin (bounded), then block; count whether the spin phase alone was enough. The
        // timeout only guards against a death notice that lands between the check and the wait.
        for (; spun < this.spin && done < nWorkers; spun++) done = Atomics.load(ctl, DONE);
        if (done < nWorkers) {
          Atomics.wait(ctl, DONE, done, 100);
          done = Atomics.load(ctl, DONE);
        }
      }
      this.adaptSpin(spun >= this.spin);
      this.stats.waitMs += performance.now() - t0;
      this.stats.jobs++;
    }
    this.checkAlive();
    const failed = Atomics.load(ctl, ERROR);
    if (failed) throw new Error(`worker ${failed - 1} failed while running a job (see its message above)`);
  }

  /** Throw (now and on every later op) once a worker thread has exited: its rows would never be computed. */
  private checkAlive(): void {
    const dead = Atomics.load(this.ctl, DEAD);
    if (dead === 0) return;
    const code = this.exitCodes[dead - 1];
    throw new LlamatsError(`worker thread ${dead - 1} exited${code === undefined ? "" : ` (code ${code})`}; this backend cannot run further ops (create a new one)`);
  }

  /** Test hook: make worker `index` exit at once, as a crash would (the dispatch then throws). */
  killWorkerForTest(index: number): void {
    const ctl = this.ctl;
    ctl[OP] = JobOp.testExit;
    ctl[ROWS] = this.threads;
    ctl[ARGS] = index;
    this.dispatch();
  }

  /**
   * "auto" spin: if, over a window of 256 jobs, most spin phases ran out before the workers
   * finished (no free core: they were descheduled), spinning only burns the core they need,
   * so turn it off for workers and main thread alike.
   */
  private adaptSpin(missed: boolean): void {
    if (!this.spinAuto || this.spin === 0) return;
    this.spinJobs++;
    if (missed) this.spinMisses++;
    if (this.spinJobs < 256) return;
    if (this.spinMisses * 2 > this.spinJobs) {
      this.spin = 0;
      Atomics.store(this.ctl, SPIN, 0);
    }
    this.spinJobs = 0;
    this.spinMisses = 0;
  }

  protected override runJob(job: MatmulJob): void {
    const ctl = this.ctl;
    ctl[OP] = JobOp.matmul;
    ctl[KERNEL] = KERNEL_NAMES.indexOf(job.kernel);
    ctl[MEMORY] = job.memory;
    ctl[ROWS] = job.rows;
    for (let i = 0; i < job.args.length; i++) ctl[ARGS + i] = job.args[i]! | 0;
    this.dispatch();
  }

  override attention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, params: AttentionParams, probsOut?: Float32Array): void {
    const locs = [q, kCache, vCache, out].map((v) => this.arena.locate(v));
    const m = locs[0]?.memory;
    const split = this.threads > 1 && !probsOut && m !== undefined && locs.every((l) => l?.memory === m) && params.nHeads % params.nKvHeads === 0;
    if (!split) {
      super.attention(out, q, kCache, vCache, params, probsOut);
      return;
    }
    const ctl = this.ctl;
    ctl[OP] = JobOp.attention;
    ctl[MEMORY] = m;
    ctl[ROWS] = params.nHeads;
    const kvDim = params.nKvHeads * params.headDim;
    const a = (i: number, v: number) => (ctl[ARGS + i] = v | 0);
    a(ATT.q, locs[0]!.offset);
    a(ATT.k, locs[1]!.offset);
    a(ATT.v, locs[2]!.offset);
    a(ATT.out, locs[3]!.offset);
    a(ATT.nTokens, params.nTokens);
    a(ATT.pos0, params.pos0);
    a(ATT.nHeads, params.nHeads);
    a(ATT.nKvHeads, params.nKvHeads);
    a(ATT.headDim, params.headDim);
    a(ATT.cacheRows, Math.min(Math.floor(kCache.length / kvDim), Math.floor(vCache.length / kvDim)));
    scaleSlot(ctl)[0] = params.scale;
    this.dispatch();
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
    const ctl = this.ctl;
    ctl[OP] = JobOp.swiglu;
    ctl[MEMORY] = m;
    ctl[ROWS] = n;
    ctl[ARGS + SWIGLU.out] = locs[0]!.offset | 0;
    ctl[ARGS + SWIGLU.gate] = locs[1]!.offset | 0;
    ctl[ARGS + SWIGLU.up] = locs[2]!.offset | 0;
    this.dispatch();
  }

  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.threads > 1) {
      this.ctl[OP] = JobOp.exit;
      Atomics.add(this.ctl, SEQ, 1);
      Atomics.notify(this.ctl, SEQ);
    }
    for (const p of this.ports) p.close();
  }
}

/** A ready WorkerBackend (the engine's "wasm" backend). */
export async function createWorkerBackend(opts: WorkerBackendOptions = {}): Promise<WorkerBackend> {
  return new WorkerBackend(opts).ready();
}

export { share };
