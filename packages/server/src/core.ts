// The server's state beside fastify: the model once loaded, its slots, metrics, the requests
// in flight (so shutdown can end them) and the request-level helpers the routes share.

import { basename } from "node:path";
import type { LlamaModel } from "@llamats/engine";
import { ApiError, badRequest } from "./errors.js";
import { Metrics } from "./metrics.js";
import { DEFAULTS, type ServerOptions } from "./options.js";
import { SlotPool } from "./slots.js";

/** Why a request's AbortController fired. */
export type AbortReason = "client-closed" | "shutdown";

export class ServerCore {
  model: LlamaModel | undefined;
  pool: SlotPool | undefined;
  loadError: unknown;
  draining = false;
  readonly metrics = new Metrics();
  readonly inflight = new Set<AbortController>();
  readonly loaded: Promise<void>;
  readonly created = Math.floor(Date.now() / 1000);
  private id: string | undefined;

  constructor(readonly opts: ServerOptions) {
    const parallel = opts.parallel ?? DEFAULTS.parallel;
    const queueSize = opts.queueSize ?? DEFAULTS.queueSize;
    if (!Number.isInteger(parallel) || parallel < 1) throw new ApiError(500, `parallel ${parallel}: want an integer >= 1`);
    if (!Number.isInteger(queueSize) || queueSize < 0) throw new ApiError(500, `queue size ${queueSize}: want an integer >= 0`);
    this.id = opts.modelId;
    this.loaded = Promise.resolve(opts.model).then((m) => {
      const nCtx = opts.ctxSize ?? m.nCtx;
      this.pool = new SlotPool(m, parallel, nCtx, queueSize);
      this.id ??= basename(m.path).replace(/\.(gguf|bin|safetensors)$/i, "") || "llamats";
      this.model = m;
    });
    this.loaded.catch((err) => (this.loadError = err));
  }

  get modelId(): string {
    return this.id ?? "loading";
  }

  /** The model and slots, or 503 while loading / shutting down. */
  ready(): { model: LlamaModel; pool: SlotPool } {
    if (this.draining) throw new ApiError(503, "server is shutting down", "server_error", null, "shutting_down");
    if (!this.model || !this.pool) {
      if (this.loadError) throw new ApiError(503, "the model failed to load", "server_error", null, "model_load_failed");
      throw new ApiError(503, "the model is still loading; retry shortly", "server_error", null, "model_loading");
    }
    return { model: this.model, pool: this.pool };
  }

  /** A request body's `model`: absent, or the id we serve. */
  checkModel(name: unknown): void {
    if (name === undefined || name === null || name === this.modelId) return;
    throw badRequest(`The model \`${String(name)}\` does not exist; this server serves \`${this.modelId}\` (GET /v1/models)`, "model", "model_not_found");
  }

  /** Tokenized text or checked ids (every id inside the vocabulary). */
  checkIds(model: LlamaModel, ids: readonly number[], param: string): number[] {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= model.config.vocabSize) throw badRequest(`${param}[${i}]: token id ${ids[i]} is outside the vocabulary (0 .. ${model.config.vocabSize - 1})`, param);
    }
    return [...ids];
  }
}

export function newId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
}
