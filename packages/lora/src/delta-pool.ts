// The delta kernel of delta-wasm.ts on several threads: worker_threads share one
// WebAssembly.Memory with the main thread; each job (a block of output rows of B @ A) is
// split by rows between the workers and the main thread, which blocks in Atomics.wait until
// all parts are done (merging is synchronous). Rows are independent and each element keeps
// its k order, so the result has the same bits whatever the thread count.
// The worker is a few lines of plain JavaScript evaluated in place (no module loading).

import { Worker } from "node:worker_threads";
import { LlamatsError } from "@llamats/tensor";
import { buildDeltaModule, DeltaStaging, MAX_PAGES, type DeltaExports } from "./delta-wasm.js";

// ctrl (Int32Array on a SharedArrayBuffer): job generation, parts still running, job fields.
const GEN = 0, PENDING = 1, A = 2, B = 3, D = 4, ROWS = 5, IN = 6, R = 7, PARTS = 8, ERR = 9;

const WORKER_JS = `
const { workerData } = require("node:worker_threads");
const { memory, bytes, ctrlBuf, part } = workerData;
const ctrl = new Int32Array(ctrlBuf);
const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.delta_rows;
let gen = 0;
for (;;) {
  Atomics.wait(ctrl, ${GEN}, gen);
  gen = Atomics.load(ctrl, ${GEN});
  try {
    const n = ctrl[${ROWS}], P = ctrl[${PARTS}], inDim = ctrl[${IN}], r = ctrl[${R}];
    const r0 = Math.floor((n * part) / P), r1 = Math.floor((n * (part + 1)) / P);
    if (r1 > r0) run(ctrl[${A}], ctrl[${B}] + r0 * r * 4, ctrl[${D}] + r0 * inDim * 4, r1 - r0, inDim, r);
  } catch (e) {
    Atomics.store(ctrl, ${ERR}, 1);
  }
  if (Atomics.sub(ctrl, ${PENDING}, 1) === 1) Atomics.notify(ctrl, ${PENDING});
}`;

export class DeltaPool {
  private readonly memory: WebAssembly.Memory;
  private readonly run: DeltaExports["delta_rows"];
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly staging: DeltaStaging;

  /** `threads` in all, the calling thread included. */
  private constructor(readonly threads: number) {
    const bytes = buildDeltaModule(true);
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    this.run = (new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } }).exports as unknown as DeltaExports).delta_rows;
    this.staging = new DeltaStaging(this.memory);
    this.ctrl = new Int32Array(new SharedArrayBuffer(16 * 4));
    for (let part = 1; part < threads; part++) {
      const w = new Worker(WORKER_JS, { eval: true, workerData: { memory: this.memory, bytes, ctrlBuf: this.ctrl.buffer, part } });
      w.unref(); // never keeps the process alive
      this.workers.push(w);
    }
  }

  /** A pool of `threads` (>= 2), or undefined where shared WebAssembly memory or workers fail. */
  static create(threads: number): DeltaPool | undefined {
    try {
      return new DeltaPool(threads);
    } catch {
      return undefined;
    }
  }

  /** Rows i0 .. i1-1 of B @ A into d ((i1 - i0), inDim); inDim must be a multiple of 4. */
  rows(a: Float32Array, b: Float32Array, r: number, inDim: number, i0: number, i1: number, d: Float32Array): void {
    const { n, bPtr, dPtr } = this.staging.stage(a, b, r, inDim, i0, i1);
    const c = this.ctrl;
    c[A] = 0; c[B] = bPtr; c[D] = dPtr; c[ROWS] = n; c[IN] = inDim; c[R] = r; c[PARTS] = this.threads; c[ERR] = 0;
    Atomics.store(c, PENDING, this.threads - 1);
    Atomics.add(c, GEN, 1);
    Atomics.notify(c, GEN);
    const r1 = Math.floor(n / this.threads); // part 0: the calling thread
    if (r1 > 0) this.run(0, bPtr, dPtr, r1, inDim, r);
    const t0 = Date.now();
    for (let p = Atomics.load(c, PENDING); p !== 0; p = Atomics.load(c, PENDING)) {
      Atomics.wait(c, PENDING, p, 1000);
      if (Date.now() - t0 > 600_000) throw new LlamatsError("LoRA delta worker threads stopped answering");
    }
    if (c[ERR]) throw new LlamatsError("a LoRA delta worker thread failed");
    this.staging.collect(d, dPtr, n, inDim);
  }

  dispose(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
