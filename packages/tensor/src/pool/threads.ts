// How a ThreadPool starts its N-1 threads: the seam between the pool protocol (pool.ts,
// control.ts, loop.ts: no platform code) and the platform's threads. Node uses worker_threads
// (threads-node.ts); a browser build swaps that module for Web Workers (threads-web.ts) — the
// caller side, the worker loop and the task code are the same modules on both.

import type { SharedBuffer } from "./control.js";

/** What a pool thread gets when it starts (workerData in Node, the first message on the web). */
export interface WorkerInit {
  readonly taskModule: string;
  readonly taskInit: unknown;
  readonly buffers: readonly SharedBuffer[];
  readonly control: SharedArrayBuffer;
  readonly index: number;
  readonly nThreads: number;
}

/** One started pool thread, seen from the caller. */
export interface PoolThread {
  /** Send a buffer published after start (the worker picks it up before the job that needs it). */
  postBuffer(buffer: SharedBuffer): void;
  /** End the thread's resources once the pool has told it to exit. */
  close(): void;
}

/** Events a launcher reports for a thread. */
export interface PoolThreadEvents {
  /** The thread ended (code if the platform says), for whatever reason. */
  exited(code?: number): void;
  /** The thread failed outside a job (its script or task module did not load, a crash). */
  failed(message: string): void;
}

export interface ThreadLauncher {
  /** What the platform calls its threads, for messages ("worker_threads", "Web Workers"). */
  readonly kind: string;
  /**
   * Whether the calling thread may block in Atomics.wait (false on a browser page's main
   * thread: the pool's caller then spins while the workers finish).
   */
  readonly callerCanBlock: boolean;
  start(init: WorkerInit, events: PoolThreadEvents): PoolThread;
}
