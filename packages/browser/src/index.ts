// @llamats/browser: llamats in a web page. The library part (load.ts) is bundled by esbuild
// into dist/public/llamats.js (an ES module with no node: imports); the demo page (page/,
// static/) into dist/public/app.js; `llamats serve --browser-demo` serves both at /browser/.
export {
  loadModelFromBytes, loadModelFromBlob, loadModelFromUrl, loadModelFromRanges, blobRanges, memoryRanges, httpRanges, readBlob, fetchBytes,
  createBrowserBackend, createBrowserBackendReady, canShareMemory, effectiveThreads,
  type BrowserBackendName, type BrowserLoadOptions, type ByteRanges,
} from "./load.js";
export { installSetImmediate } from "./immediate.js";
export { loadModelInWorker, RemoteModel, type RemoteGenerateOptions, type WorkerLoadRequest } from "./remote.js";
export type { ModelInfo, WorkerLoadOptions, WorkerGenerateOptions } from "./worker-protocol.js";
export { measureSpeed, type SpeedResult, type ForwardModel } from "./speed.js";
export { LlamaModel, type GenerateOptions } from "@llamats/engine";
