// A LlamaModel from the bytes of a GGUF file, in a browser (or anywhere without a file
// system): the same steps as @llamats/engine's loadModel, minus the paths. The bytes are
// parsed in memory (@llamats/formats' openGgufSourceBytes), the tokenizer comes from the
// GGUF metadata, and the weights are copied into buffers the backend allocates (for "wasm":
// its WebAssembly memories), after which the caller's bytes can be dropped.
//   backend "ts":   @llamats/tensor's ReferenceBackend with @llamats/quant's kernels
//   backend "wasm": @llamats/kernels' WasmBackend, the SIMD kernels on this thread

import { LlamatsError, ReferenceBackend, type Backend, type ProgressCallback } from "@llamats/tensor";
import { configFromSource, openGgufSourceBytes } from "@llamats/formats";
import { loadWeights, RunState } from "@llamats/model";
import { Tokenizer } from "@llamats/tokenizer";
import { quantKernels } from "@llamats/quant";
import { WasmBackend } from "@llamats/kernels";
import { LlamaModel } from "@llamats/engine";
import { installSetImmediate } from "./immediate.js";

export type BrowserBackendName = "ts" | "wasm";

export interface BrowserLoadOptions {
  /** "wasm" (default): the WebAssembly SIMD kernels; "ts": the reference backend. */
  readonly backend?: BrowserBackendName;
  /** KV cache size in tokens (default: the model's training context, at most 2048). */
  readonly nCtx?: number;
  /** Tokens per prefill pass (default: the engine's). */
  readonly maxBatch?: number;
  /** Bytes of weights copied so far. */
  readonly onProgress?: ProgressCallback;
}

export function createBrowserBackend(name: BrowserBackendName): Backend {
  if (name === "ts") return new ReferenceBackend({ kernels: quantKernels });
  if (name === "wasm") return new WasmBackend();
  throw new LlamatsError(`unknown backend "${String(name)}" (want ts or wasm)`);
}

/** A ready model from the bytes of a GGUF file; `name` labels errors (a File's name). */
export function loadModelFromBytes(bytes: Uint8Array, name: string, opts: BrowserLoadOptions = {}): LlamaModel {
  installSetImmediate();
  const source = openGgufSourceBytes(bytes, name);
  try {
    const config = configFromSource(source);
    const tokens = source.metadata["tokenizer.ggml.tokens"];
    const tokenizer = Array.isArray(tokens) || ArrayBuffer.isView(tokens) ? Tokenizer.fromGguf(source.metadata) : undefined;
    if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
      throw new LlamatsError(`${name}: the tokenizer has ${tokenizer.vocabSize} pieces but the model only ${config.vocabSize} embeddings`);
    }
    const backend = createBrowserBackend(opts.backend ?? "wasm");
    try {
      const total = source.tensors.reduce((a, t) => a + t.byteLength, 0);
      let done = 0;
      const weights = loadWeights({
        path: name, tensors: source.tensors,
        read(tensorName: string, dst?: Uint8Array): Uint8Array {
          const out = source.read(tensorName, dst);
          done += out.length;
          opts.onProgress?.({ done: Math.min(done, total), total, unit: "bytes", label: tensorName });
          return out;
        },
      }, backend, config);
      const nCtx = opts.nCtx ?? Math.min(config.contextLength, 2048);
      if (!Number.isInteger(nCtx) || nCtx < 1) throw new LlamatsError(`context size ${nCtx}: want a positive integer`);
      const state = new RunState(backend, config, { nCtx, maxBatch: opts.maxBatch });
      return new LlamaModel({ path: name, format: "gguf", config, tokenizer, backend, weights, state });
    } catch (err) {
      backend.dispose();
      throw err;
    }
  } finally {
    source.close();
  }
}

/**
 * Read a Blob (a File from `<input type="file">`) into memory, reporting bytes read. The
 * whole file is held once here and once more in the backend's buffers until the returned
 * array is dropped: peak memory is about twice the file (docs/BROWSER.md).
 */
export async function readBlob(blob: Blob, onProgress?: ProgressCallback): Promise<Uint8Array> {
  const out = new Uint8Array(blob.size);
  const chunk = 16 << 20;
  for (let at = 0; at < blob.size; at += chunk) {
    const end = Math.min(blob.size, at + chunk);
    out.set(new Uint8Array(await blob.slice(at, end).arrayBuffer()), at);
    onProgress?.({ done: end, total: blob.size, unit: "bytes", label: "read" });
  }
  return out;
}

/** readBlob, then loadModelFromBytes. */
export async function loadModelFromBlob(blob: Blob, name: string, opts: BrowserLoadOptions & { onRead?: ProgressCallback } = {}): Promise<LlamaModel> {
  const bytes = await readBlob(blob, opts.onRead);
  return loadModelFromBytes(bytes, name, opts);
}

/**
 * Download a GGUF (same origin, or a server sending CORS and, on an isolated page,
 * Cross-Origin-Resource-Policy) into memory, reporting bytes received (total from
 * Content-Length when the server sends it, else 0). One sequential GET, no range requests.
 */
export async function fetchBytes(url: string, onProgress?: ProgressCallback): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new LlamatsError(`${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  let out = new Uint8Array(total > 0 ? total : 1 << 20);
  let done = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    if (done + value.length > out.length) {
      const bigger = new Uint8Array(Math.max(out.length * 2, done + value.length));
      bigger.set(out.subarray(0, done));
      out = bigger;
    }
    out.set(value, done);
    done += value.length;
    onProgress?.({ done, total, unit: "bytes", label: "download" });
  }
  if (total > 0 && done !== total) throw new LlamatsError(`${url}: got ${done} bytes, Content-Length said ${total}`);
  return out.subarray(0, done);
}
