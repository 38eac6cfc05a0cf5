// The Web Worker entry of a ThreadPool in a browser (started by threads-web.ts; bundled as
// web-worker.js). The first message is the WorkerInit, later ones are buffers the caller
// published; the loop (loop.ts, the same as Node's) waits for one when a job needs it. If
// the loop fails (the task module does not load), the thread marks itself dead and wakes
// the caller, as Node's worker does on exit.

import { DEAD, DONE, READY, type SharedBuffer } from "./control.js";
import { runWorkerLoop } from "./loop.js";
import type { WorkerInit } from "./threads.js";

interface WorkerScope {
  addEventListener(type: "message", fn: (e: { data: unknown }) => void): void;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;
const queued: SharedBuffer[] = [];
let waiting: ((b: SharedBuffer) => void) | undefined;
let init: WorkerInit | undefined;

function markDead(i: WorkerInit): void {
  const ctl = new Int32Array(i.control);
  if (Atomics.load(ctl, DEAD) === 0) Atomics.store(ctl, DEAD, i.index + 1);
  Atomics.notify(ctl, DONE);
  Atomics.notify(ctl, READY);
}

scope.addEventListener("message", (e) => {
  if (!init) {
    const first = e.data as WorkerInit;
    init = first;
    runWorkerLoop(first, {
      nextBuffer: () => queued.shift() ?? new Promise<SharedBuffer>((r) => (waiting = r)),
      exitForTest: () => {
        markDead(first);
        scope.close();
      },
      report: (line) => console.error(line),
    }).then(
      () => scope.close(),
      (err: unknown) => {
        console.error(`llamats: pool thread ${first.index}: ${(err as Error).stack ?? String(err)}`);
        markDead(first);
        scope.close();
      },
    );
    return;
  }
  const b = e.data as SharedBuffer;
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(b);
  } else queued.push(b);
});
