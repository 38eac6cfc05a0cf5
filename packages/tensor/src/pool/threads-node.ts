// The pool's threads in Node: worker_threads running worker.ts (worker.js from dist; under tsx,
// an eval'd entry that registers tsx's loader first). Buffers published after start travel
// on a MessagePort that the worker reads synchronously. A browser build replaces this module
// with threads-web.ts (packages/browser's bundler).

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { ThreadLauncher, WorkerInit } from "./threads.js";

function startWorker(workerData: WorkerInit & { port: MessagePort }): Worker {
  const opts = { workerData, transferList: [workerData.port] };
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url), opts);
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsx = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
  const entry = new URL("./worker.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { ...opts, eval: true });
}

export const platformThreads: ThreadLauncher = {
  kind: "worker_threads",
  callerCanBlock: true,
  start(init, events) {
    const { port1, port2 } = new MessageChannel();
    const w = startWorker({ ...init, port: port2 });
    w.unref();
    w.on("error", (err) => events.failed(err.stack ?? String(err)));
    w.on("exit", (code) => events.exited(code));
    return {
      postBuffer: (b) => port1.postMessage(b),
      close: () => port1.close(),
    };
  },
};

/** Threads a pool uses by default: the cores this process may use. */
export function defaultThreadCount(): number {
  return availableParallelism();
}
