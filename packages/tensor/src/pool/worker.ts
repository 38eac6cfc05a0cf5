// The worker thread of every ThreadPool (pool.ts): load the task module named in workerData,
// then loop: wait for a job (spin, then block), pick up newly published buffers, run this
// thread's share, count done. Errors are reported in the control block instead of killing
// the thread; however the thread ends, it says so (DEAD) and wakes the waiting caller.

import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { ARGS, N_ARGS, DEAD, DONE, ERROR, N_BUFFERS, OP, PoolOp, READY, ROWS, SEQ, SPIN, share, waitChange, type SharedBuffer, type TaskModule } from "./control.js";
import type { WorkerInit } from "./pool.js";

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.control);
const args = ctl.subarray(ARGS, ARGS + N_ARGS);
const buffers: SharedBuffer[] = [...init.buffers];
const nWorkers = init.nThreads - 1;

// The caller may be blocked in Atomics.wait for our share, where it cannot see the Worker's
// "exit" event (its event loop is not running): wake it from here.
process.on("exit", () => {
  if (Atomics.load(ctl, DEAD) === 0) Atomics.store(ctl, DEAD, init.index + 1);
  Atomics.notify(ctl, DONE);
  Atomics.notify(ctl, READY);
});

const mod = (await import(init.taskModule)) as TaskModule;
const run = await mod.createTask(init.taskInit, { index: init.index, nThreads: init.nThreads, buffers });

let seen = Atomics.load(ctl, SEQ);
Atomics.add(ctl, READY, 1);
Atomics.notify(ctl, READY);
for (;;) {
  seen = waitChange(ctl, SEQ, seen, Atomics.load(ctl, SPIN));
  const op = ctl[OP]!;
  if (op === PoolOp.exit) break;
  if (op === PoolOp.testExit && ctl[ARGS] === init.index) process.exit(70);
  while (buffers.length < ctl[N_BUFFERS]!) {
    const msg = receiveMessageOnPort(init.port);
    if (msg) buffers.push(msg.message as SharedBuffer);
  }
  if (op >= 0) {
    try {
      const [a, b] = share(ctl[ROWS]!, init.index, init.nThreads);
      if (a < b) run(op, args, a, b);
    } catch (err) {
      // Report instead of dying: the caller would otherwise wait for this share forever.
      Atomics.store(ctl, ERROR, init.index + 1);
      process.stderr.write(`llamats: worker ${init.index}: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
  if (Atomics.add(ctl, DONE, 1) + 1 === nWorkers) Atomics.notify(ctl, DONE);
}
init.port.close();
