// A LlamaModel from the bytes of a GGUF file, in a browser (or anywhere without a file
// system): the same steps as @llamats/engine's loadModel, minus the paths. The bytes are
// parsed in memory (@llamats/formats' openGgufSourceBytes), the tokenizer comes from the
// GGUF metadata, and the weights are copied into buffers the backend allocates (for "wasm":
// its WebAssembly memories), after which the caller's bytes can be dropped.
//   backend "ts":   @llamats/tensor's ReferenceBackend with @llamats/quant's kernels
//   backend "wasm": @llamats/kernels' WasmBackend, the SIMD kernels on this thread

import { FormatError, LlamatsError, ReferenceBackend, type Backend, type LlamaConfig, type ProgressCallback } from "@llamats/tensor";
import { configFromSource, openGgufBytes, openGgufSourceBytes, type GgufFile, type ModelSource } from "@llamats/formats";
import { buildWeights, loadWeights, RunState, type LlamaWeights, type RawTensor } from "@llamats/model";
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
    const tokenizer = tokenizerOf(source, config, name);
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
      return assemble(name, config, tokenizer, backend, weights, opts);
    } catch (err) {
      backend.dispose();
      throw err;
    }
  } finally {
    source.close();
  }
}

/** The tokenizer a GGUF carries (`tokenizer.ggml.*`), if any. */
function tokenizerOf(source: ModelSource, config: LlamaConfig, name: string): Tokenizer | undefined {
  const tokens = source.metadata["tokenizer.ggml.tokens"];
  const tokenizer = Array.isArray(tokens) || ArrayBuffer.isView(tokens) ? Tokenizer.fromGguf(source.metadata) : undefined;
  if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
    throw new LlamatsError(`${name}: the tokenizer has ${tokenizer.vocabSize} pieces but the model only ${config.vocabSize} embeddings`);
  }
  return tokenizer;
}

/** Run state and the engine's LlamaModel around loaded weights (as @llamats/engine's loadModel). */
function assemble(name: string, config: LlamaConfig, tokenizer: Tokenizer | undefined, backend: Backend, weights: LlamaWeights, opts: BrowserLoadOptions): LlamaModel {
  const nCtx = opts.nCtx ?? Math.min(config.contextLength, 2048);
  if (!Number.isInteger(nCtx) || nCtx < 1) throw new LlamatsError(`context size ${nCtx}: want a positive integer`);
  const state = new RunState(backend, config, { nCtx, maxBatch: opts.maxBatch });
  return new LlamaModel({ path: name, format: "gguf", config, tokenizer, backend, weights, state });
}

/**
 * Read a Blob (a File from `<input type="file">`) into memory, reporting bytes read. The
 * whole file is held once here and once more in the backend's buffers until the returned
 * array is dropped: peak memory is about twice the file (loadModelFromBlob avoids that).
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

/**
 * A ready model from a Blob (a File from `<input type="file">`) without holding the file in
 * memory: the header is parsed from the file's first bytes (16 MiB, more if the metadata is
 * larger), then each tensor is read with Blob.slice() straight into the buffer the backend
 * allocated for it. Peak memory is about the model once (plus one tensor), and the page stays
 * responsive while it loads. Same weights, bit for bit, as loadModelFromBytes.
 */
export async function loadModelFromBlob(blob: Blob, name: string, opts: BrowserLoadOptions = {}): Promise<LlamaModel> {
  installSetImmediate();
  let prefix = Math.min(blob.size, 16 << 20);
  let head: GgufFile;
  let source: ModelSource;
  for (;;) {
    const bytes = new Uint8Array(await blob.slice(0, prefix).arrayBuffer());
    try {
      head = openGgufBytes(bytes, name, { fileSize: blob.size });
      source = openGgufSourceBytes(bytes, name, { fileSize: blob.size });
      break;
    } catch (err) {
      // A header longer than the prefix fails like a truncated file: retry with more of it.
      if (!(err instanceof FormatError) || prefix >= blob.size) throw err;
      prefix = Math.min(blob.size, prefix * 4);
    }
  }
  const config = configFromSource(source);
  const tokenizer = tokenizerOf(source, config, name);
  const backend = createBrowserBackend(opts.backend ?? "wasm");
  try {
    const total = source.tensors.reduce((a, t) => a + t.byteLength, 0);
    let done = 0;
    const filled = new Map<string, RawTensor>();
    for (const t of source.tensors) {
      const info = head.tensor(t.name);
      if (!info) throw new FormatError(name, `tensor "${t.name}"`, 0, "not in the GGUF header");
      const at = head.dataOffset + info.offset;
      const dst = backend.allocBytes(t.byteLength);
      dst.set(new Uint8Array(await blob.slice(at, at + t.byteLength).arrayBuffer()));
      filled.set(t.name, { type: t.type, shape: t.shape, bytes: dst });
      done += t.byteLength;
      opts.onProgress?.({ done, total, unit: "bytes", label: t.name });
    }
    const weights = buildWeights(config, (n) => filled.get(n), name, backend);
    return assemble(name, config, tokenizer, backend, weights, opts);
  } catch (err) {
    backend.dispose();
    throw err;
  }
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
