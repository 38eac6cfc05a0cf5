// The one thread-pool protocol of llamats (inference, quantisation, LoRA merge): a control
// block of Int32 over a SharedArrayBuffer, shared by the calling thread (thread 0) and N-1
// worker_threads. The caller writes a job (OP, ROWS, ARGS), resets DONE, bumps SEQ and
// notifies; each worker waits for SEQ to change (spinning SPIN loads, then Atomics.wait),
// runs its fixed share of ROWS, and bumps DONE; the last one notifies. Thread i of n always
// takes rows [floor(rows i / n), floor(rows (i+1) / n)), so every output element is computed
// by exactly one thread with the same code: results do not depend on the thread count.
// Shared buffers (SharedArrayBuffers, shared WebAssembly memories) opened after start reach
// the workers on a MessagePort, read synchronously when a job says N_BUFFERS is higher.

export const SEQ = 0;
export const DONE = 1;
export const READY = 2; // workers that have loaded their task
export const ERROR = 3; // 1 + index of a worker whose share threw
export const DEAD = 4; // 1 + index of a worker thread that exited (it wakes DONE waiters)
export const SPIN = 5; // spin iterations before blocking (0: block at once)
export const ROWS = 6; // items to split between the threads
export const OP = 7; // the task's own job kind; negative values are the pool's (PoolOp)
export const N_BUFFERS = 8; // shared buffers the caller has published
export const ARGS = 16; // the task's arguments
export const N_ARGS = 16;
export const CONTROL_INTS = ARGS + N_ARGS;

/** The pool's own job kinds (a task uses OP values >= 0). */
export const PoolOp = { exit: -1, testExit: -2 } as const;

/** A buffer every thread of a pool sees (published with ThreadPool.share). */
export type SharedBuffer = SharedArrayBuffer | WebAssembly.Memory;

/** Thread i's share of n items split between nThreads. */
export function share(n: number, i: number, nThreads: number): [number, number] {
  return [Math.floor((n * i) / nThreads), Math.floor((n * (i + 1)) / nThreads)];
}

/** Wait until ctl[index] != value: spin `spin` times, then block. */
export function waitChange(ctl: Int32Array, index: number, value: number, spin: number): number {
  for (let i = 0; i < spin; i++) {
    const v = Atomics.load(ctl, index);
    if (v !== value) return v;
  }
  for (;;) {
    Atomics.wait(ctl, index, value);
    const v = Atomics.load(ctl, index);
    if (v !== value) return v;
  }
}

/** What a task's code sees on any thread. */
export interface TaskContext {
  readonly index: number;
  readonly nThreads: number;
  /** The pool's shared buffers, in the order they were published. */
  readonly buffers: readonly SharedBuffer[];
}

/** Runs rows [start, end) of job `op` (the task's own kind, >= 0) with its arguments `args`. */
export type TaskShare = (op: number, args: Int32Array, start: number, end: number) => void;

/**
 * A task module (loaded by every worker from its URL) exports
 * `createTask(init, ctx): TaskShare | Promise<TaskShare>`, `init` being the pool's taskInit.
 */
export interface TaskModule {
  createTask(init: unknown, ctx: TaskContext): TaskShare | Promise<TaskShare>;
}
