// ThreadPool, the one worker pool (inference, quantisation, merge): shares cover every row
// once with the same code whatever the thread count; buffers published after start reach
// the workers; a failing share, a dead worker and dispose() fail jobs instead of hanging.
import { expect } from "chai";
import { LlamatsError, ThreadPool, taskModuleUrl } from "@llamats/tensor";
import { fillRows } from "./helpers/pool-task.js";

const taskModule = taskModuleUrl(import.meta.url, "./helpers/pool-task");

describe("tensor/ThreadPool", () => {
  it("gives the same bits for 1 to 4 threads, over buffers shared at start and later", async () => {
    const rows = 1001;
    const want = new Float32Array(rows);
    fillRows(want, 3, 0, rows);
    for (const threads of [1, 2, 4]) {
      const first = new SharedArrayBuffer(16 + rows * 4);
      const pool = await new ThreadPool({ threads, taskModule, taskInit: { offset: 16 }, buffers: [first], name: "test" }).ready();
      try {
        const run = (m: number, sab: SharedArrayBuffer) => {
          pool.args[0] = 3;
          pool.args[1] = m;
          pool.run(0, rows, (a, b) => fillRows(new Float32Array(sab, 16), 3, a, b));
        };
        run(0, first);
        expect(Array.from(new Float32Array(first, 16))).to.deep.equal(Array.from(want));
        const later = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
        const m = pool.share(later);
        run(m, later.buffer as unknown as SharedArrayBuffer);
        expect(Array.from(new Float32Array(later.buffer, 16, rows))).to.deep.equal(Array.from(want));
        expect(pool.stats.jobs).to.equal(threads > 1 ? 2 : 0);
      } finally {
        pool.dispose();
      }
    }
  });

  it("waitReady blocks until the workers have loaded their task (synchronous callers)", () => {
    const pool = new ThreadPool({ threads: 3, taskModule, taskInit: { offset: 0 }, buffers: [new SharedArrayBuffer(64)] }).waitReady();
    try {
      pool.args[0] = 1;
      pool.args[1] = 0;
      pool.run(0, 16, () => {});
    } finally {
      pool.dispose();
    }
  });

  it("a share that throws fails its job, and the pool stays usable", async () => {
    const sab = new SharedArrayBuffer(64);
    const pool = await new ThreadPool({ threads: 3, taskModule, taskInit: { offset: 0 }, buffers: [sab], name: "test" }).ready();
    try {
      pool.args[0] = 2;
      expect(() => pool.run(1, 9, () => {})).to.throw(LlamatsError, /test thread 2 failed while running a job/);
      pool.args[0] = 1;
      pool.args[1] = 0;
      pool.run(0, 16, (a, b) => fillRows(new Float32Array(sab), 1, a, b));
      const want = new Float32Array(16);
      fillRows(want, 1, 0, 16);
      expect(Array.from(new Float32Array(sab))).to.deep.equal(Array.from(want));
    } finally {
      pool.dispose();
    }
  });

  it("a worker that exits fails the job and every later one; dispose() refuses work", async () => {
    const pool = await new ThreadPool({ threads: 3, taskModule, taskInit: { offset: 0 }, buffers: [new SharedArrayBuffer(64)], spin: 1000 }).ready();
    try {
      expect(() => pool.killWorkerForTest(2)).to.throw(LlamatsError, /worker thread 2 exited/);
      expect(() => pool.run(0, 16, () => {})).to.throw(LlamatsError, /exited/);
    } finally {
      pool.dispose();
    }
    expect(() => pool.run(0, 16, () => {})).to.throw(LlamatsError, /after dispose/);
  });
});
