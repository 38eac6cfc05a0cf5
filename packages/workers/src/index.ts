// @llamats/workers: the worker_threads backend. WorkerBackend runs the WebAssembly kernels
// of @llamats/kernels on N threads over shared memories; createWorkerBackend is the engine's
// "wasm" backend factory.
export { WorkerBackend, createWorkerBackend, type WorkerBackendOptions, type DispatchStats } from "./backend.js";
export { share } from "@llamats/tensor";
