// ThreadPool: the calling thread plus N-1 threads (worker_threads in Node, Web Workers in the
// browser build: threads.ts is the seam) running one task module over shared buffers, with
// the protocol of control.ts and the worker loop of loop.ts. Used by inference (@llamats/workers: matmul,
// attention, SwiGLU), quantisation (@llamats/quant) and the LoRA merge (@llamats/lora). It
// lives in @llamats/tensor, the bottom of the package order, so that every package can use it.
//
// A job is synchronous for the caller: run() publishes it, runs the caller's share, then
// waits for the workers (spin a bounded number of loads, then Atomics.wait; "auto" spin turns
// itself off when the spin phases keep running out, i.e. the machine does not give us a core
// per thread). A worker that exits fails the job in flight and every later one; a share that
// throws fails its job. dispose() ends the workers; they never keep the process alive.

import { LlamatsError } from "../errors.js";
import { ARGS, CONTROL_INTS, DEAD, DONE, ERROR, N_ARGS, N_BUFFERS, OP, PoolOp, READY, ROWS, SEQ, SPIN, share, type SharedBuffer } from "./control.js";
// worker_threads in Node; the browser build swaps this module for threads-web.ts (Web Workers).
import { defaultThreadCount, platformThreads } from "./threads-node.js";
import type { PoolThread, ThreadLauncher } from "./threads.js";

export type { WorkerInit } from "./threads.js";

export interface ThreadPoolOptions {
  /** Threads including the calling thread (>= 1; 1 runs everything on the caller). */
  readonly threads: number;
  /** The task module every worker loads (taskModuleUrl gives a sibling .ts or .js). */
  readonly taskModule: URL;
  /** Structured-cloneable data for the task's createTask (a WebAssembly.Module, sizes...). */
  readonly taskInit?: unknown;
  /** Buffers the workers see from the start (more with share()). */
  readonly buffers?: readonly SharedBuffer[];
  /** Spin loads before blocking, or "auto" (spin while it pays, if there is a core per thread). Default 0. */
  readonly spin?: number | "auto";
  /** What the pool is for, in messages ("LoRA delta"). */
  readonly name?: string;
  /** How threads start (default: the platform's: worker_threads, or Web Workers in the browser build). */
  readonly launcher?: ThreadLauncher;
}

export interface DispatchStats {
  jobs: number;
  /** Total ms the caller waited for workers after finishing its own share. */
  waitMs: number;
}

const DEFAULT_SPIN = 1 << 19; // ~0.5-1.5 ms of Atomics.load: bridges the caller's serial work between jobs

/** The module `name` ("./task") next to `fromUrl` (an import.meta.url): .ts under tsx, .js from dist. */
export function taskModuleUrl(fromUrl: string, name: string): URL {
  return new URL(`${name}${fromUrl.endsWith(".ts") ? ".ts" : ".js"}`, fromUrl);
}

/** Threads a pool uses by default on this platform (cores). */
export { defaultThreadCount };

export class ThreadPool {
  readonly threads: number;
  readonly name: string;
  /** Current spin budget (loads before blocking). */
  spin: number;
  /** The task's argument slots (ARGS .. ARGS + N_ARGS of the control block). */
  readonly args: Int32Array;
  readonly stats: DispatchStats = { jobs: 0, waitMs: 0 };
  /** The shared buffers, in publication order (index = what share() returned). */
  readonly buffers: SharedBuffer[];
  private readonly ctl: Int32Array;
  private readonly spinAuto: boolean;
  private spinJobs = 0; // jobs in the current adaptive window
  private spinMisses = 0; // of which the spin phase ended without the workers done
  private readonly launcher: ThreadLauncher;
  private readonly threadHandles: PoolThread[] = [];
  private readonly exitCodes: (number | undefined)[] = [];
  private sentBuffers: number;
  private disposed = false;

  constructor(opts: ThreadPoolOptions) {
    const threads = opts.threads;
    if (!Number.isInteger(threads) || threads < 1) throw new LlamatsError(`threads ${threads}: want a positive integer`);
    this.threads = threads;
    this.name = opts.name ?? "worker";
    this.spinAuto = opts.spin === "auto";
    this.launcher = opts.launcher ?? platformThreads;
    this.spin = opts.spin === "auto" ? (threads > 1 && threads <= defaultThreadCount() ? DEFAULT_SPIN : 0) : (opts.spin ?? 0);
    this.ctl = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
    this.args = this.ctl.subarray(ARGS, ARGS + N_ARGS);
    this.ctl[SPIN] = this.spin;
    this.buffers = [...(opts.buffers ?? [])];
    this.sentBuffers = this.buffers.length;
    this.ctl[N_BUFFERS] = this.buffers.length;
    for (let i = 1; i < threads; i++) {
      const t = this.launcher.start(
        { taskModule: opts.taskModule.href, taskInit: opts.taskInit, buffers: this.buffers, control: this.ctl.buffer as SharedArrayBuffer, index: i, nThreads: threads },
        {
          failed: (message) => reportLine(`llamats: ${this.name} thread ${i} (${this.launcher.kind}) failed: ${message}`),
          // A thread that ends without our asking (killed between jobs) fails the next job; one
          // that ends during a job says so itself (worker.ts), waking the waiting caller.
          exited: (code) => {
            this.exitCodes[i] = code;
            if (!this.disposed && Atomics.load(this.ctl, DEAD) === 0) {
              Atomics.store(this.ctl, DEAD, i + 1);
              Atomics.notify(this.ctl, DONE);
            }
          },
        },
      );
      this.threadHandles.push(t);
    }
  }

  /** Resolves once every worker has loaded its task and waits for jobs. */
  async ready(timeoutMs = 30000): Promise<this> {
    const t0 = Date.now();
    while (Atomics.load(this.ctl, READY) < this.threads - 1) {
      this.checkAlive();
      if (Date.now() - t0 > timeoutMs) throw new LlamatsError(`${this.name} threads (${this.launcher.kind}) did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return this;
  }

  /** ready(), blocking the calling thread (for synchronous APIs; not on a page's main thread). */
  waitReady(timeoutMs = 30000): this {
    const t0 = Date.now();
    for (let n = Atomics.load(this.ctl, READY); n < this.threads - 1; n = Atomics.load(this.ctl, READY)) {
      this.checkAlive();
      if (Date.now() - t0 > timeoutMs) throw new LlamatsError(`${this.name} threads (${this.launcher.kind}) did not start within ${timeoutMs} ms`);
      Atomics.wait(this.ctl, READY, n, 100);
    }
    return this;
  }

  /** Publish a buffer to every thread (before a job that uses it); returns its index. */
  share(buffer: SharedBuffer): number {
    this.buffers.push(buffer);
    return this.buffers.length - 1;
  }

  private syncBuffers(): void {
    const n = this.buffers.length;
    for (; this.sentBuffers < n; this.sentBuffers++) {
      for (const t of this.threadHandles) t.postBuffer(this.buffers[this.sentBuffers]!);
    }
    this.ctl[N_BUFFERS] = n;
  }

  /**
   * Run job `op` (>= 0, the task's) over `rows` items with the arguments in `args`: the
   * workers run their shares of the task, the caller runs `own(start, end)` (the same code,
   * called directly). Returns when every share is done; throws if one failed.
   */
  run(op: number, rows: number, own: (start: number, end: number) => void): void {
    if (this.disposed) throw new LlamatsError(`${this.name} pool used after dispose()`);
    const ctl = this.ctl;
    this.checkAlive();
    ctl[OP] = op;
    ctl[ROWS] = rows;
    if (this.threads === 1) {
      if (rows > 0) own(0, rows);
      return;
    }
    this.syncBuffers();
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    try {
      const [a, b] = share(rows, 0, this.threads);
      if (a < b) own(a, b);
    } finally {
      // Even if our share threw, the workers must finish before the control block is reused.
      const t0 = performance.now();
      const nWorkers = this.threads - 1;
      let done = Atomics.load(ctl, DONE);
      let spun = 0;
      while (done < nWorkers && Atomics.load(ctl, DEAD) === 0) {
        // Spin (bounded), then block; the timeout only guards against a death notice that
        // lands between the check and the wait.
        for (; spun < this.spin && done < nWorkers; spun++) done = Atomics.load(ctl, DONE);
        if (done < nWorkers) {
          // A page's main thread may not block: it keeps loading instead.
          if (this.launcher.callerCanBlock) Atomics.wait(ctl, DONE, done, 100);
          done = Atomics.load(ctl, DONE);
        }
      }
      this.adaptSpin(spun >= this.spin);
      this.stats.waitMs += performance.now() - t0;
      this.stats.jobs++;
    }
    this.checkAlive();
    const failed = Atomics.load(ctl, ERROR);
    if (failed) throw new LlamatsError(`${this.name} thread ${failed - 1} failed while running a job (see its message above)`);
  }

  /** Throw (now and on every later job) once a worker has exited: its rows would never be computed. */
  private checkAlive(): void {
    const dead = Atomics.load(this.ctl, DEAD);
    if (dead === 0) return;
    const code = this.exitCodes[dead - 1];
    throw new LlamatsError(`${this.name} thread ${dead - 1} exited${code === undefined ? "" : ` (code ${code})`}; this pool cannot run further jobs (create a new one)`);
  }

  /**
   * "auto" spin: if, over a window of 256 jobs, most spin phases ran out before the workers
   * finished (no free core: they were descheduled), spinning only burns the core they need,
   * so turn it off for workers and caller alike.
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

  /** Test hook: make worker `index` exit at once, as a crash would (the job then throws). */
  killWorkerForTest(index: number): void {
    this.args[0] = index;
    this.run(PoolOp.testExit, 0, () => {});
  }

  /** End the workers (they finish the loop and exit); the pool cannot run jobs afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.threads > 1) {
      this.ctl[OP] = PoolOp.exit;
      Atomics.add(this.ctl, SEQ, 1);
      Atomics.notify(this.ctl, SEQ);
    }
    for (const t of this.threadHandles) t.close();
  }
}

function reportLine(line: string): void {
  const p = (globalThis as { process?: { stderr?: { write(s: string): void } } }).process;
  if (p?.stderr) p.stderr.write(line + "\n");
  else console.error(line);
}
