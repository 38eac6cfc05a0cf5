// Messages between a page and the model worker (model-worker.ts, remote.ts). Every request
// carries an id; the worker answers with events for that id (progress, a generated piece or
// id) and then exactly one `done` or `error`. Options are plain data (no callbacks, no
// AbortSignal: aborting is its own request).

import type { Progress } from "@llamats/tensor";
import type { BrowserBackendName } from "./load.js";

/** Load options that cross to the worker (BrowserLoadOptions without the callbacks). */
export interface WorkerLoadOptions {
  readonly backend?: BrowserBackendName;
  readonly threads?: number;
  readonly nCtx?: number;
  readonly maxBatch?: number;
  readonly headerBytes?: number;
  readonly spanBytes?: number;
  readonly memory?: { readonly maxBytesPerMemory?: number; readonly scratchReserve?: number; readonly initialBytes?: number };
}

/** Generation options that cross to the worker (GenerateOptions without signal and callbacks). */
export interface WorkerGenerateOptions {
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly repeatPenalty?: number;
  readonly seed?: number;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: "load"; readonly file?: Blob; readonly url?: string; readonly name: string; readonly opts: WorkerLoadOptions }
  | { readonly id: number; readonly op: "forward"; readonly ids: number[]; readonly all: boolean; readonly reset: boolean }
  | { readonly id: number; readonly op: "generate"; readonly prompt: string; readonly opts: WorkerGenerateOptions }
  | { readonly id: number; readonly op: "generateIds"; readonly ids: number[]; readonly opts: WorkerGenerateOptions }
  | { readonly id: number; readonly op: "tokenize"; readonly text: string; readonly bos: boolean }
  | { readonly id: number; readonly op: "speed"; readonly pp: number; readonly tg: number }
  | { readonly id: number; readonly op: "info" | "reset" | "dispose" }
  | { readonly id: number; readonly op: "abort"; readonly target: number };

/** What the page learns about a loaded model (op "load" / "info"). */
export interface ModelInfo {
  readonly config: { readonly blockCount: number; readonly embeddingLength: number; readonly vocabSize: number; readonly contextLength: number };
  readonly backend: string;
  readonly threads: number;
  /** WebAssembly memories of the wasm backend (0 for ts). */
  readonly memories: number;
  /** Jobs the thread pool has run (0 on one thread). */
  readonly poolJobs: number;
}

export type WorkerEvent =
  | { readonly id: number; readonly progress: Progress }
  | { readonly id: number; readonly piece: string }
  | { readonly id: number; readonly token: number }
  | { readonly id: number; readonly done: unknown }
  | { readonly id: number; readonly error: string };
