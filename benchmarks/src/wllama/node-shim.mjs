// Just enough of a browser for @wllama/wllama 2.3.7 (llama.cpp compiled to wasm32 with
// emscripten pthreads) to run under Node 20, which it has no build for:
// - `Worker`: a browser-style worker over worker_threads. Its code is a blob URL (wllama
//   makes one for its own worker, emscripten one per pthread), read with
//   buffer.resolveObjectURL and run as a classic script in a fresh thread whose globals look
//   like a WorkerGlobalScope (self, name, location, postMessage, onmessage), with
//   `process.type = "renderer"` so emscripten takes its web path instead of its Node one.
// - `fetch` of the .wasm: URLs under WASM_BASE are read from the package folder on disk.
// - document.baseURI and navigator.hardwareConcurrency, which wllama reads.
// The model goes in as `fs.openAsBlob(path)` (the caller's job). Used only by the benchmark
// child (wllama-child.ts), never by llamats itself. Plain JavaScript: worker_threads start
// this file again as each thread's bootstrap, and the tsx loader does not reach them.

import { resolveObjectURL } from "node:buffer";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { runInThisContext } from "node:vm";
import { isMainThread, parentPort, Worker as NodeWorker, workerData } from "node:worker_threads";

/** Fake origin of wllama's assets; fetch() maps it to WASM_DIR. */
export const WASM_BASE = "http://wllama.invalid/";

/** A browser Worker running `url` (a blob: URL of classic-script code) on a worker_thread. */
class ShimWorker {
  onmessage = null;
  onerror = null;
  listeners = new Map();
  thread = undefined;
  queue = [];
  terminated = false;

  constructor(url, opts = {}) {
    const href = String(url);
    const blob = resolveObjectURL(href);
    if (!blob) throw new Error(`wllama shim: cannot resolve worker URL ${href}`);
    void blob.text().then((code) => {
      if (this.terminated) return;
      const data = { wllamaShim: true, code, href, name: opts.name ?? "", wasmDir: shimWasmDir() };
      // This file again, as the thread's bootstrap (see the bottom).
      const t = new NodeWorker(new URL(import.meta.url), { workerData: data });
      t.on("message", (d) => this.emit("message", { data: d }));
      t.on("error", (err) => this.emit("error", { message: String(err), error: err }));
      this.thread = t;
      for (const [d, tr] of this.queue) t.postMessage(d, tr);
      this.queue = [];
    });
  }

  postMessage(data, transfer) {
    const list = Array.isArray(transfer) ? transfer : transfer?.transfer;
    if (this.thread) this.thread.postMessage(data, list);
    else this.queue.push([data, list]);
  }

  addEventListener(type, fn) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  removeEventListener(type, fn) {
    this.listeners.set(type, (this.listeners.get(type) ?? []).filter((l) => l !== fn));
  }

  terminate() {
    this.terminated = true;
    void this.thread?.terminate();
  }

  emit(type, e) {
    (type === "message" ? this.onmessage : this.onerror)?.call(this, e);
    for (const l of this.listeners.get(type) ?? []) l(e);
  }
}

let wasmDir = "";
function shimWasmDir() {
  return wasmDir;
}

/** fetch() that serves WASM_BASE/<path> from dir/<path> as application/wasm. */
function wasmFetch(dir, inner) {
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(WASM_BASE)) return inner(input, init);
    const bytes = readFileSync(join(dir, url.slice(WASM_BASE.length)));
    return new Response(bytes, { status: 200, headers: { "content-type": "application/wasm" } });
  };
}

/** Install the browser globals wllama needs in this (main) thread; dir holds single-thread/ and multi-thread/wllama.wasm. */
export function installWllamaShim(dir) {
  wasmDir = dir;
  const g = globalThis;
  g.Worker = ShimWorker;
  g.document = { baseURI: WASM_BASE };
  if (typeof g.navigator !== "object") g.navigator = { hardwareConcurrency: availableParallelism(), userAgent: "Node.js" };
  g.fetch = wasmFetch(dir, fetch);
}

/** Inside a shim thread: look like a WorkerGlobalScope, then run the worker's code. */
function bootWorkerThread(d) {
  const g = globalThis;
  process.type = "renderer"; // emscripten: not Node, a web worker
  wasmDir = d.wasmDir;
  g.self = globalThis;
  g.name = d.name;
  g.location = { href: d.href, toString: () => d.href };
  g.WorkerGlobalScope = function WorkerGlobalScope() {};
  g.Worker = ShimWorker;
  g.fetch = wasmFetch(d.wasmDir, fetch);
  if (typeof g.navigator !== "object") g.navigator = { hardwareConcurrency: availableParallelism(), userAgent: "Node.js" };
  const listeners = [];
  g.onmessage = null;
  g.postMessage = (data, transfer) => parentPort.postMessage(data, transfer);
  g.addEventListener = (type, fn) => {
    if (type === "message") listeners.push(fn);
  };
  g.close = () => process.exit(0);
  parentPort.on("message", (data) => {
    const e = { data };
    g.onmessage?.(e);
    for (const l of listeners) l(e);
  });
  runInThisContext(d.code, { filename: d.href });
}

if (!isMainThread && workerData?.wllamaShim) bootWorkerThread(workerData);
