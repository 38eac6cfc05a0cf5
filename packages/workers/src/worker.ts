// The worker thread body: receives the compiled kernel module, the shared memories and the
// control block, then loops: wait for a job (spin, then block), run its share, count done.
// New memories opened by the main thread after start arrive on a MessagePort and are read
// synchronously (receiveMessageOnPort) when a job names a memory this worker has not seen.

import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { ARGS, DEAD, DONE, ERROR, JobOp, N_MEMORIES, OP, SEQ, SPIN, waitChange, type WorkerInit } from "./control.js";
import { JobRunner } from "./runner.js";

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.control);
const runner = new JobRunner(init.module, init.memories, init.kernelNames);
const nWorkers = init.nThreads - 1;

// However this thread ends (process.exit, an uncaught error, the end of the loop), say so in
// the control block and wake the main thread: it may be blocked in Atomics.wait for our share,
// where it cannot see the Worker's "exit" event (its event loop is not running).
process.on("exit", () => {
  if (Atomics.load(ctl, DEAD) === 0) Atomics.store(ctl, DEAD, init.index + 1);
  Atomics.notify(ctl, DONE);
});

let seen = Atomics.load(ctl, SEQ);
Atomics.add(ctl, DONE, 1); // ready
Atomics.notify(ctl, DONE);
for (;;) {
  seen = waitChange(ctl, SEQ, seen, Atomics.load(ctl, SPIN));
  if (ctl[OP] === JobOp.exit) break;
  if (ctl[OP] === JobOp.testExit && ctl[ARGS] === init.index) process.exit(70);
  while (runner.memories.length < ctl[N_MEMORIES]!) {
    const msg = receiveMessageOnPort(init.port);
    if (msg) runner.memories.push(msg.message as WebAssembly.Memory);
  }
  try {
    runner.run(ctl, init.index, init.nThreads);
  } catch (err) {
    // Report instead of dying: the main thread would otherwise wait for this share forever.
    Atomics.store(ctl, ERROR, init.index + 1);
    process.stderr.write(`llamats: worker ${init.index}: ${(err as Error).stack ?? String(err)}\n`);
  }
  if (Atomics.add(ctl, DONE, 1) + 1 === nWorkers) Atomics.notify(ctl, DONE);
}
init.port.close();
