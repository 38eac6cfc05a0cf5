// Worker side of createQuantizePool: quantises its rows of a shared matrix, then counts
// itself done and wakes the waiting thread.
import { parentPort } from "node:worker_threads";
import type { PoolJob } from "./pool.js";
import { quantizeRows } from "./rows.js";

parentPort?.postMessage("ready");
parentPort?.on("message", (job: PoolJob) => {
  const ctrl = new Int32Array(job.ctrl);
  try {
    const rows = job.rowEnd - job.rowStart;
    const src = new Float32Array(job.src, job.rowStart * job.cols * 4, rows * job.cols);
    const dst = new Uint8Array(job.dst, job.rowStart * job.rowBytes, rows * job.rowBytes);
    if (rows > 0) quantizeRows(job.type, src, rows, job.cols, dst);
  } catch {
    Atomics.store(ctrl, 1, 1);
  }
  Atomics.add(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
});
