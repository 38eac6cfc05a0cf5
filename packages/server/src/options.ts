// What a server is configured with (the `llamats serve` flags map onto these one to one).

import type { LlamaModel } from "@llamats/engine";

/** Chat prompt templates; see prompt.ts. */
export type TemplateName = "alpaca" | "raw" | "gradio";
export const TEMPLATE_NAMES: readonly TemplateName[] = ["alpaca", "raw", "gradio"];

export interface ServerOptions {
  /** The model, or a promise of it: until it resolves /health says "loading" and the API answers 503. */
  readonly model: LlamaModel | Promise<LlamaModel>;
  /** The id /v1/models lists and requests may name (default: the model file's name). */
  readonly modelId?: string;
  /** Default 127.0.0.1 (the seed binds 0.0.0.0; see docs/SERVER.md). */
  readonly host?: string;
  /** Default 19327 (the seed's); 0 picks a free port. */
  readonly port?: number;
  /** When set, /v1/* needs `Authorization: Bearer <apiKey>` (compared in constant time). */
  readonly apiKey?: string;
  /** Sequences generating at once, each with its own KV cache (default 4). */
  readonly parallel?: number;
  /** Choices allowed to wait for a free sequence; beyond that 503 + Retry-After (default 64). */
  readonly queueSize?: number;
  /** KV cache positions per sequence (default: the model's context, at most 2048). */
  readonly ctxSize?: number;
  /**
   * Chat prompt template (default "alpaca": the seed's chat prompt). Given explicitly as
   * "alpaca", /v1/completions also wraps its prompt the way the seed's server does.
   */
  readonly template?: TemplateName;
  /** Access-Control-Allow-Origin for browsers on another origin ("*" or one origin). */
  readonly cors?: string;
  /** Request body limit in bytes (default 1 MiB): larger is 413. */
  readonly bodyLimit?: number;
  /** A folder served at `/` (index.html for `/`) instead of the web chat page (@llamats/webchat). */
  readonly staticDir?: string;
  /** One line per request (default: stderr). */
  readonly log?: (line: string) => void;
  /** On shutdown, how long in-flight requests may still run before they are ended (default 5000 ms). */
  readonly shutdownGraceMs?: number;
}

export const DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 19327,
  parallel: 4,
  queueSize: 64,
  bodyLimit: 1 << 20,
  shutdownGraceMs: 5000,
});
