// The loop every pool thread runs (worker.ts in Node, web-worker.ts in a browser): load the
// task module, then wait for a job (spin, then block), pick up newly published buffers, run
// this thread's share, count done. Errors in a share are reported in the control block
// instead of ending the thread (the caller would otherwise wait for its rows forever).

import { ARGS, DONE, ERROR, N_ARGS, N_BUFFERS, OP, PoolOp, READY, ROWS, SEQ, SPIN, share, waitChange, type SharedBuffer, type TaskModule } from "./control.js";
import type { WorkerInit } from "./threads.js";

export interface WorkerIo {
  /** The next buffer the caller posted (in order); may wait for it to arrive. */
  nextBuffer(): SharedBuffer | Promise<SharedBuffer>;
  /** End this thread now, as a crash would (the pool's test hook). */
  exitForTest(): void;
  /** One line on the platform's error output. */
  report(line: string): void;
}

/** Runs until the pool's exit job; throws if the task module cannot be loaded. */
export async function runWorkerLoop(init: WorkerInit, io: WorkerIo): Promise<void> {
  const ctl = new Int32Array(init.control);
  const args = ctl.subarray(ARGS, ARGS + N_ARGS);
  const buffers: SharedBuffer[] = [...init.buffers];
  const nWorkers = init.nThreads - 1;
  const mod = (await import(init.taskModule)) as TaskModule;
  const run = await mod.createTask(init.taskInit, { index: init.index, nThreads: init.nThreads, buffers });

  let seen = Atomics.load(ctl, SEQ);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);
  for (;;) {
    seen = waitChange(ctl, SEQ, seen, Atomics.load(ctl, SPIN));
    const op = ctl[OP]!;
    if (op === PoolOp.exit) break;
    if (op === PoolOp.testExit && ctl[ARGS] === init.index) {
      io.exitForTest();
      return;
    }
    while (buffers.length < ctl[N_BUFFERS]!) {
      const b = io.nextBuffer();
      buffers.push(b instanceof Promise ? await b : b);
    }
    if (op >= 0) {
      try {
        const [a, b] = share(ctl[ROWS]!, init.index, init.nThreads);
        if (a < b) run(op, args, a, b);
      } catch (err) {
        Atomics.store(ctl, ERROR, init.index + 1);
        io.report(`llamats: worker ${init.index}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === nWorkers) Atomics.notify(ctl, DONE);
  }
}
