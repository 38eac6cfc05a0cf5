// The pool's threads in a browser: module Web Workers running web-worker.js, which the
// browser build (packages/browser) bundles next to the library, so it is found relative to
// this module's URL. Web Workers need SharedArrayBuffer, i.e. a cross-origin isolated page
// (COOP/COEP headers). Buffers published after start are posted to the worker, which takes
// them from its message queue before the job that needs them. A page's main thread may not
// block in Atomics.wait: there the pool's caller spins until the workers are done.

import type { ThreadLauncher } from "./threads.js";

interface WebWorkerLike {
  postMessage(msg: unknown): void;
  terminate(): void;
  addEventListener(type: "error", fn: (e: { message?: string }) => void): void;
}
type WorkerCtor = new (url: URL, opts: { type: "module"; name: string }) => WebWorkerLike;

/** True in a page (window), false in a worker, where Atomics.wait is allowed. */
function onMainThread(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== "undefined";
}

export const platformThreads: ThreadLauncher = {
  kind: "Web Workers",
  callerCanBlock: !onMainThread(),
  start(init, events) {
    const W = (globalThis as { Worker?: WorkerCtor }).Worker;
    if (!W) throw new Error("Web Workers are not available here");
    const w = new W(new URL("./web-worker.js", import.meta.url), { type: "module", name: `llamats pool thread ${init.index}` });
    w.addEventListener("error", (e) => {
      events.failed(e.message ?? "the worker script failed");
      events.exited();
    });
    w.postMessage(init);
    return {
      postBuffer: (b) => w.postMessage(b),
      close: () => w.terminate(),
    };
  },
};

/** Threads a pool uses by default: the logical cores the browser reports. */
export function defaultThreadCount(): number {
  return Math.max(1, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
}
