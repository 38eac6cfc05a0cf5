// The control block shared by the main thread and the workers: one Int32Array over a
// SharedArrayBuffer. The main thread writes a job, resets DONE, bumps SEQ and notifies;
// each worker waits for SEQ to change (spinning briefly, then Atomics.wait), runs its fixed
// share of the job, and bumps DONE; the last one notifies. Thread i of n always takes rows
// [floor(rows i / n), floor(rows (i+1) / n)), so every output element is computed by exactly
// one thread with the same code: results do not depend on the thread count.

export const SEQ = 0;
export const DONE = 1;
export const OP = 2; // an Op value
export const KERNEL = 3; // index into kernelNames
export const MEMORY = 4; // memory index of the job
export const N_MEMORIES = 5; // memories the main thread has opened (workers fetch new ones)
export const ROWS = 6; // rows (matmul) or heads (attention) to split
export const SPIN = 7; // spin iterations before blocking (0: block at once)
export const ERROR = 8; // set to 1 + thread index by a worker whose share threw
export const DEAD = 9; // set to 1 + thread index of a worker thread that exited (it wakes DONE waiters)
export const ARGS = 16; // kernel / attention arguments
export const N_ARGS = 16;
export const CONTROL_INTS = ARGS + N_ARGS;

// testExit: the worker whose index is ARGS[0] exits at once (tests of the dead-worker path).
// swiglu: out = silu(gate) * up over elements split like rows (elementwise: bit-identical).
export const JobOp = { matmul: 1, attention: 2, exit: 3, testExit: 4, swiglu: 5 } as const;

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

export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memories: WebAssembly.Memory[];
  readonly control: SharedArrayBuffer;
  readonly index: number; // thread index (the main thread is 0)
  readonly nThreads: number;
  readonly kernelNames: string[];
  readonly port: import("node:worker_threads").MessagePort; // new memories arrive here
}
