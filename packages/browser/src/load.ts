// A LlamaModel from the bytes of a GGUF file, in a browser (or anywhere without a file
// system): the same steps as @llamats/engine's loadModel, minus the paths. The bytes are
// parsed in memory (@llamats/formats' openGgufSourceBytes), the tokenizer comes from the
// GGUF metadata, and the weights are copied into buffers the backend allocates (for "wasm":
// its WebAssembly memories), after which the caller's bytes can be dropped.
//   backend "ts":   @llamats/tensor's ReferenceBackend with @llamats/quant's kernels
//   backend "wasm": @llamats/workers' WorkerBackend: the SIMD kernels on this thread plus
//                   threads - 1 Web Workers over the same shared memories (the pool of
//                   @llamats/tensor, whose threads the browser build starts as Web Workers)
// The async loaders (File/Blob, URL) read the file in spans straight into the backend's
// buffers (about 1x the model in memory); a URL is read with HTTP range requests.

import { FormatError, LlamatsError, ReferenceBackend, type Backend, type LlamaConfig, type ProgressCallback } from "@llamats/tensor";
import { configFromSource, openGgufBytes, openGgufSourceBytes, type GgufFile, type ModelSource } from "@llamats/formats";
import { buildWeights, loadWeights, RunState, type LlamaWeights, type RawTensor } from "@llamats/model";
import { Tokenizer } from "@llamats/tokenizer";
import { quantKernels } from "@llamats/quant";
import { WasmBackend, type ArenaOptions } from "@llamats/kernels";
import { WorkerBackend } from "@llamats/workers";
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
  /**
   * Threads for "wasm", this one included (default 1): more start Web Workers sharing the
   * kernels' memories, which needs a cross-origin isolated page; elsewhere it falls back to 1.
   * The synchronous loadModelFromBytes always uses 1 (workers start asynchronously).
   */
  readonly threads?: number;
  /** Async loaders: bytes read first for the GGUF header (default 16 MiB; 4x more until it fits). */
  readonly headerBytes?: number;
  /** Async loaders: consecutive tensors are read together up to this many bytes (default 32 MiB). */
  readonly spanBytes?: number;
  /**
   * "wasm": how the kernels' WebAssembly memories are sized (default: up to 4 GiB each, the
   * wasm32 limit; a model larger than one is spread over several). Tests set small memories
   * to split a small model the way a large one is split.
   */
  readonly memory?: ArenaOptions;
}

/** Whether this context may share memory with workers (a cross-origin isolated page or worker; Node). */
export function canShareMemory(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return g.crossOriginIsolated ?? typeof SharedArrayBuffer === "function";
}

/** Threads a load will really use: the request, or 1 where memory cannot be shared. */
export function effectiveThreads(threads = 1): number {
  if (!Number.isInteger(threads) || threads < 1) throw new LlamatsError(`threads ${threads}: want a positive integer`);
  return canShareMemory() ? threads : 1;
}

/** A backend by name; "wasm" with threads > 1 must be awaited with ready() before use (createBrowserBackendReady). */
export function createBrowserBackend(name: BrowserBackendName, threads = 1, memory: ArenaOptions = {}): Backend {
  if (name === "ts") return new ReferenceBackend({ kernels: quantKernels });
  if (name === "wasm") return threads > 1 ? new WorkerBackend({ threads, ...memory }) : new WasmBackend(memory);
  throw new LlamatsError(`unknown backend "${String(name)}" (want ts or wasm)`);
}

/** createBrowserBackend, with its worker threads started and waiting for jobs. */
export async function createBrowserBackendReady(name: BrowserBackendName, threads = 1, memory: ArenaOptions = {}): Promise<Backend> {
  const backend = createBrowserBackend(name, name === "wasm" ? effectiveThreads(threads) : 1, memory);
  if (backend instanceof WorkerBackend) {
    try {
      await backend.ready();
    } catch (err) {
      backend.dispose();
      throw err;
    }
  }
  return backend;
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

/** Random access to a GGUF's bytes: a Blob, an HTTP resource with range reads, memory. */
export interface ByteRanges {
  /** Total bytes. */
  readonly size: number;
  /** Bytes [at, at + length) (length <= size - at). */
  read(at: number, length: number): Promise<Uint8Array>;
}

/** A Blob (a File from `<input type="file">`) read with Blob.slice(). */
export function blobRanges(blob: Blob): ByteRanges {
  return { size: blob.size, read: async (at, length) => new Uint8Array(await blob.slice(at, at + length).arrayBuffer()) };
}

/** Bytes already in memory. */
export function memoryRanges(bytes: Uint8Array): ByteRanges {
  return { size: bytes.length, read: async (at, length) => bytes.subarray(at, at + length) };
}

const HEADER_BYTES = 16 << 20; // first read: GGUF metadata (4x more until it fits)
const SPAN_BYTES = 32 << 20; // consecutive tensors read together, up to this many bytes

/**
 * A ready model from a Blob (a File from `<input type="file">`) without holding the file in
 * memory (loadModelFromRanges over Blob.slice()).
 */
export async function loadModelFromBlob(blob: Blob, name: string, opts: BrowserLoadOptions = {}): Promise<LlamaModel> {
  return loadModelFromRanges(blobRanges(blob), name, opts);
}

/**
 * A ready model from random-access bytes: the header is parsed from the first 16 MiB (more if
 * the metadata is larger; the GGUF reader's fileSize keeps its bounds checks against the
 * whole file), the backend allocates every tensor's buffer, then the tensors are read in file
 * order, consecutive ones together in spans of up to 32 MiB, each copied straight into its
 * buffer. Peak memory is about the model once plus one span; same weights, bit for bit, as
 * loadModelFromBytes. Progress counts bytes of weights.
 */
export async function loadModelFromRanges(src: ByteRanges, name: string, opts: BrowserLoadOptions = {}): Promise<LlamaModel> {
  installSetImmediate();
  let prefix = Math.min(src.size, opts.headerBytes ?? HEADER_BYTES);
  let head: GgufFile;
  let source: ModelSource;
  for (;;) {
    const bytes = await src.read(0, prefix);
    try {
      head = openGgufBytes(bytes, name, { fileSize: src.size });
      source = openGgufSourceBytes(bytes, name, { fileSize: src.size });
      break;
    } catch (err) {
      // A header longer than the prefix fails like a truncated file: retry with more of it.
      if (!(err instanceof FormatError) || prefix >= src.size) throw err;
      prefix = Math.min(src.size, prefix * 4);
    }
  }
  const config = configFromSource(source);
  const tokenizer = tokenizerOf(source, config, name);
  const backend = await createBrowserBackendReady(opts.backend ?? "wasm", opts.threads ?? 1, opts.memory);
  try {
    const total = source.tensors.reduce((a, t) => a + t.byteLength, 0);
    const filled = new Map<string, RawTensor>();
    const pieces: { at: number; dst: Uint8Array }[] = [];
    for (const t of source.tensors) { // allocated in the GGUF's tensor order, as loadModelFromBytes does
      const info = head.tensor(t.name);
      if (!info) throw new FormatError(name, `tensor "${t.name}"`, 0, "not in the GGUF header");
      const dst = backend.allocBytes(t.byteLength);
      filled.set(t.name, { type: t.type, shape: t.shape, bytes: dst });
      pieces.push({ at: head.dataOffset + info.offset, dst });
    }
    pieces.sort((a, b) => a.at - b.at);
    const spanBytes = opts.spanBytes ?? SPAN_BYTES;
    let done = 0;
    for (let i = 0; i < pieces.length; ) {
      const start = pieces[i]!.at;
      let end = start + pieces[i]!.dst.length;
      let j = i + 1;
      for (; j < pieces.length && pieces[j]!.at >= end && pieces[j]!.at + pieces[j]!.dst.length - start <= spanBytes; j++) end = pieces[j]!.at + pieces[j]!.dst.length;
      const span = await src.read(start, end - start);
      if (span.length !== end - start) throw new FormatError(name, "tensor data", start, `read ${span.length} bytes, wanted ${end - start}`);
      for (; i < j; i++) {
        const p = pieces[i]!;
        p.dst.set(span.subarray(p.at - start, p.at - start + p.dst.length));
        done += p.dst.length;
      }
      opts.onProgress?.({ done, total, unit: "bytes", label: "weights" });
    }
    const weights = buildWeights(config, (n) => filled.get(n), name, backend);
    return assemble(name, config, tokenizer, backend, weights, opts);
  } catch (err) {
    backend.dispose();
    throw err;
  }
}

/**
 * A ready model from a URL (same origin, or a server sending CORS and, on an isolated page,
 * Cross-Origin-Resource-Policy), read with HTTP range requests (httpRanges) so the file is
 * never held whole; a server that ignores Range is read with one full GET instead (about 2x
 * the model in memory at the peak). Progress: bytes of weights (or of the download).
 */
export async function loadModelFromUrl(url: string, opts: BrowserLoadOptions & { readonly onDownload?: ProgressCallback } = {}): Promise<LlamaModel> {
  const src = await httpRanges(url, opts.onDownload, opts.headerBytes);
  return loadModelFromRanges(src, url, opts);
}

/** Parses `Content-Range: bytes a-b/total`; undefined when it is not that. */
function contentRange(h: string | null): { first: number; last: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(h?.trim() ?? "");
  return m ? { first: Number(m[1]), last: Number(m[2]), total: Number(m[3]) } : undefined;
}

/**
 * Random access to an HTTP resource with `Range: bytes=a-b` requests. The first request asks
 * for the first firstBytes (16 MiB): a 206 with a Content-Range gives the size and every later read is
 * one more range request (checked: status 206, the range asked for; reads inside the first
 * response are served from it). A 200 means the server
 * ignored Range: the body is the whole file, read into memory (onDownload reports it) and
 * served from there.
 */
export async function httpRanges(url: string, onDownload?: ProgressCallback, firstBytes = HEADER_BYTES): Promise<ByteRanges> {
  const first = await fetch(url, { headers: { range: `bytes=0-${firstBytes - 1}` } });
  if (first.status === 200) return memoryRanges(await readBody(url, first, onDownload));
  if (first.status !== 206) throw new LlamatsError(`${url}: HTTP ${first.status} ${first.statusText}`);
  const cr = contentRange(first.headers.get("content-range"));
  if (!cr || cr.first !== 0) throw new LlamatsError(`${url}: a 206 response without a usable Content-Range (${first.headers.get("content-range")})`);
  const head = new Uint8Array(await first.arrayBuffer());
  if (head.length !== cr.last + 1) throw new LlamatsError(`${url}: range 0-${cr.last} came with ${head.length} bytes`);
  const size = cr.total;
  return {
    size,
    async read(at: number, length: number): Promise<Uint8Array> {
      if (at + length <= head.length) return head.subarray(at, at + length);
      if (length === 0) return new Uint8Array(0);
      const last = at + length - 1;
      const res = await fetch(url, { headers: { range: `bytes=${at}-${last}` } });
      if (res.status !== 206) throw new LlamatsError(`${url}: range ${at}-${last}: HTTP ${res.status} ${res.statusText} (want 206)`);
      const got = contentRange(res.headers.get("content-range"));
      if (!got || got.first !== at || got.last !== last) throw new LlamatsError(`${url}: asked for bytes ${at}-${last}, got ${res.headers.get("content-range")}`);
      const out = new Uint8Array(await res.arrayBuffer());
      if (out.length !== length) throw new LlamatsError(`${url}: range ${at}-${last} came with ${out.length} bytes`);
      return out;
    },
  };
}

/**
 * Download a GGUF (same origin, or a server sending CORS and, on an isolated page,
 * Cross-Origin-Resource-Policy) into memory, reporting bytes received (total from
 * Content-Length when the server sends it, else 0). One sequential GET, no range requests.
 */
export async function fetchBytes(url: string, onProgress?: ProgressCallback): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new LlamatsError(`${url}: HTTP ${res.status} ${res.statusText}`);
  return readBody(url, res, onProgress);
}

/** A response's whole body, with progress (total from Content-Length when sent, else 0). */
async function readBody(url: string, res: Response, onProgress?: ProgressCallback): Promise<Uint8Array> {
  if (!res.body) throw new LlamatsError(`${url}: HTTP ${res.status}: no body`);
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
