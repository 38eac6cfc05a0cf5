// Where the built browser files are, for `llamats serve --browser-demo` to serve at /browser/.
// Every file lives in dist/public (made by this package's build); nothing comes from the network.

import { fileURLToPath } from "node:url";

/** Absolute path of the built page and library (index.html, app.js, bench.html, bench.js, llamats.js, model-worker.js, style.css, web-worker.js, task.js). */
export const browserAssetsDir: string = fileURLToPath(new URL("../dist/public/", import.meta.url));

/** File name -> content type; the only files served under /browser/ ("" is index.html). */
export const browserFiles: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "bench.html": "text/html; charset=utf-8", // pp/tg tok/s in this browser (benchmarks/src/browser.bench.ts)
  "bench.js": "text/javascript; charset=utf-8",
  "llamats.js": "text/javascript; charset=utf-8",
  "model-worker.js": "text/javascript; charset=utf-8", // the demo's model, in a Web Worker
  "web-worker.js": "text/javascript; charset=utf-8", // a pool thread (Web Worker)
  "task.js": "text/javascript; charset=utf-8", // the inference task every pool thread loads
  "style.css": "text/css; charset=utf-8",
};

/**
 * Headers that make /browser/ cross-origin isolated (SharedArrayBuffer, shared
 * WebAssembly.Memory, which the kernels' memories are): COOP same-origin + COEP require-corp.
 */
export const crossOriginIsolationHeaders: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};
