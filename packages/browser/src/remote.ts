// The page's side of the model worker (model-worker.ts): loadModelInWorker starts the worker,
// loads a GGUF there (a File is passed by reference, a URL is read there with range
// requests) and returns a RemoteModel whose methods are the LlamaModel's, made asynchronous:
// each one is a request to the worker (worker-protocol.ts), streamed where the model streams.

import type { GenerationStats } from "@llamats/engine";
import type { Progress } from "@llamats/tensor";
import type { SpeedResult } from "./speed.js";
import type { ModelInfo, WorkerEvent, WorkerGenerateOptions, WorkerLoadOptions, WorkerRequest } from "./worker-protocol.js";

type Listener = (e: WorkerEvent) => void;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<WorkerRequest, "id">;

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): void;
  addEventListener(type: "message", fn: (e: { data: WorkerEvent }) => void): void;
  addEventListener(type: "error", fn: (e: { message?: string }) => void): void;
}

class WorkerChannel {
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();
  private failure?: string;

  constructor(readonly worker: WorkerLike) {
    worker.addEventListener("message", (e) => this.listeners.get(e.data.id)?.(e.data));
    worker.addEventListener("error", (e) => {
      this.failure = `the model worker failed: ${e.message ?? "its script did not load"}`;
      for (const [id, l] of this.listeners) l({ id, error: this.failure });
    });
  }

  /** Send a request; events go to onEvent; resolves with `done`, rejects with `error`. */
  call<T>(req: Request, onEvent?: (e: WorkerEvent) => void): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(new Error(this.failure));
      this.listeners.set(id, (e) => {
        if ("done" in e) {
          this.listeners.delete(id);
          resolve(e.done as T);
        } else if ("error" in e) {
          this.listeners.delete(id);
          reject(new Error(e.error));
        } else onEvent?.(e);
      });
      this.worker.postMessage({ ...req, id });
    });
    return { id, result };
  }

  /** A request whose events are a stream of values (pieces or ids), as an async generator. */
  async *stream<V>(req: Request, pick: (e: WorkerEvent) => V | undefined, signal?: AbortSignal): AsyncGenerator<V, unknown, undefined> {
    const queue: V[] = [];
    let wake: (() => void) | undefined;
    const { id, result } = this.call<unknown>(req, (e) => {
      const v = pick(e);
      if (v !== undefined) queue.push(v);
      wake?.();
    });
    let finished = false;
    const ended = result.finally(() => {
      finished = true;
      wake?.();
    });
    const onAbort = () => this.worker.postMessage({ id: this.nextId++, op: "abort", target: id });
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      while (queue.length) yield queue.shift()!;
      return await ended;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

export interface RemoteGenerateOptions extends WorkerGenerateOptions {
  readonly signal?: AbortSignal;
}

/** A LlamaModel in the model worker. */
export class RemoteModel {
  lastStats?: GenerationStats;

  constructor(
    private readonly channel: WorkerChannel,
    /** Config, backend and thread facts at load time (info() for fresh ones). */
    readonly loaded: ModelInfo,
  ) {}

  get config(): ModelInfo["config"] {
    return this.loaded.config;
  }

  /** The backend's name, threads, memories and pool jobs now. */
  info(): Promise<ModelInfo> {
    return this.channel.call<ModelInfo>({ op: "info" }).result;
  }

  /** Logits of a forward pass ("all": every position; else the last), optionally after reset(). */
  forward(ids: number[], opts: { logits?: "all" | "last"; reset?: boolean } = {}): Promise<Float32Array> {
    return this.channel.call<Float32Array>({ op: "forward", ids, all: opts.logits === "all", reset: opts.reset ?? false }).result;
  }

  /** measureSpeed (pp/tg tok/s) run in the worker, where the model is. */
  speed(pp: number, tg: number): Promise<SpeedResult> {
    return this.channel.call<SpeedResult>({ op: "speed", pp, tg }).result;
  }

  tokenize(text: string, opts: { bos?: boolean } = {}): Promise<number[]> {
    return this.channel.call<number[]>({ op: "tokenize", text, bos: opts.bos ?? false }).result;
  }

  reset(): Promise<void> {
    return this.channel.call<void>({ op: "reset" }).result;
  }

  /** Text pieces of a generation from a reset state (the engine's generate()); lastStats after. */
  async *generate(prompt: string, opts: RemoteGenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    const { signal, ...rest } = opts;
    this.lastStats = (yield* this.channel.stream<string>({ op: "generate", prompt, opts: rest }, (e) => ("piece" in e ? e.piece : undefined), signal)) as GenerationStats | undefined;
  }

  /** Token ids of a generation from a reset state (the engine's generateIds()). */
  async *generateIds(ids: number[], opts: RemoteGenerateOptions = {}): AsyncGenerator<number, void, undefined> {
    const { signal, ...rest } = opts;
    this.lastStats = (yield* this.channel.stream<number>({ op: "generateIds", ids, opts: rest }, (e) => ("token" in e ? e.token : undefined), signal)) as GenerationStats | undefined;
  }

  /** Free the model and end the worker (and its pool threads). */
  dispose(): void {
    void this.channel.call({ op: "dispose" }).result.catch(() => {}).finally(() => this.channel.worker.terminate());
  }
}

export interface WorkerLoadRequest extends WorkerLoadOptions {
  readonly onProgress?: (p: Progress) => void;
  /** The model worker's script (default: model-worker.js next to this bundle). */
  readonly workerUrl?: URL;
}

/** Start a model worker and load a GGUF there: a File/Blob (read there in spans) or a URL (range requests). */
export async function loadModelInWorker(from: Blob | string, name: string, opts: WorkerLoadRequest = {}): Promise<RemoteModel> {
  const { onProgress, workerUrl, ...load } = opts;
  const W = (globalThis as unknown as { Worker: new (url: URL, o: { type: "module"; name: string }) => WorkerLike }).Worker;
  const worker = new W(workerUrl ?? new URL("./model-worker.js", import.meta.url), { type: "module", name: "llamats model" });
  const channel = new WorkerChannel(worker);
  try {
    const req: Request = typeof from === "string" ? { op: "load", url: from, name, opts: load } : { op: "load", file: from, name, opts: load };
    const info = await channel.call<ModelInfo>(req, (e) => ("progress" in e ? onProgress?.(e.progress) : undefined)).result;
    return new RemoteModel(channel, info);
  } catch (err) {
    worker.terminate();
    throw err;
  }
}
