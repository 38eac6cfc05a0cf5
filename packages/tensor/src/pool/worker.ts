// The worker_threads entry of every ThreadPool in Node (started by threads-node.ts): the
// shared loop of loop.ts, with buffers published after start read synchronously from the
// thread's MessagePort. However the thread ends, it says so (DEAD) and wakes the caller.

import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { DEAD, DONE, READY, type SharedBuffer } from "./control.js";
import { runWorkerLoop } from "./loop.js";
import type { WorkerInit } from "./threads.js";

const init = workerData as WorkerInit & { port: MessagePort };
const ctl = new Int32Array(init.control);

// The caller may be blocked in Atomics.wait for our share, where it cannot see the Worker's
// "exit" event (its event loop is not running): wake it from here.
process.on("exit", () => {
  if (Atomics.load(ctl, DEAD) === 0) Atomics.store(ctl, DEAD, init.index + 1);
  Atomics.notify(ctl, DONE);
  Atomics.notify(ctl, READY);
});

await runWorkerLoop(init, {
  nextBuffer(): SharedBuffer {
    // Posted before the job was published: it is there, or arrives within moments.
    for (;;) {
      const msg = receiveMessageOnPort(init.port);
      if (msg) return msg.message as SharedBuffer;
    }
  },
  exitForTest: () => process.exit(70),
  report: (line) => process.stderr.write(line + "\n"),
});
init.port.close();
