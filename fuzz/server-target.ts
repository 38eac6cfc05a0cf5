// Fuzz target for the server's request parser: bytes -> the body of a POST to
// /v1/completions, /v1/chat/completions or /v1/embeddings, answered end to end by the real
// fastify app (JSON parsing, schema validation, prompt building, the handlers, generation on
// a small synthetic model) through app.inject (no socket).
//
// Invariant: every answer is a 200 or a 4xx in OpenAI's error shape; never a 5xx, a thrown
// error, a process warning (a listener leak), an answer that never comes (the driver's hang
// guard), or memory that grows without bound (checked here: resident memory more than
// MAX_RSS_GROWTH over the start).
//
// Input layout: the first byte picks route and template (byte % 6: 0 completions, 1 chat,
// 2 embeddings on a server with the default template; 3-5 the same on a "raw" template
// server, whose chat prompts are short enough to generate in a small context); the rest is
// the body as sent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, SYNTH_SHAPES, writeSyntheticModel, type LlamaModel } from "@llamats/engine";
import { buildApp, ServerCore } from "@llamats/server";
import type { FastifyInstance } from "fastify";
import type { Mutator } from "./mutate.js";

const ROUTES = ["/v1/completions", "/v1/chat/completions", "/v1/embeddings"] as const;
/** KV positions per sequence: generation ends there, so an input's work is bounded by it. */
const N_CTX = 32;
const MAX_RSS_GROWTH = 1 << 30;
/**
 * The most one input may take. A request may ask for 16 choices (MAX_CHOICES), each generating
 * until the context is full: ~500 forward tokens, 1-2 s on an idle core and several times that
 * on a loaded one (the first campaign's "slow" findings at 2 s were such requests, not bugs).
 * A request that never answers is still caught, at this limit.
 */
const SLOW_MS = 20_000;

/** A small model (one layer, dim 64) with the synthetic vocabulary: generation is cheap. */
const SHAPE = { ...SYNTH_SHAPES.tiny, name: "fuzz", embeddingLength: 64, blockCount: 1, headCount: 2, headCountKv: 2, feedForwardLength: 256, contextLength: N_CTX };

interface Served {
  readonly model: LlamaModel;
  readonly apps: readonly FastifyInstance[];
  readonly logs: string[];
  readonly dir: string;
  readonly rss0: number;
}

let served: Promise<Served> | undefined;
/** Process warnings (e.g. MaxListenersExceededWarning) while the target runs: findings too. */
const warnings: string[] = [];
const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);

async function start(): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), "llamats-fuzz-server-"));
  const path = join(dir, "fuzz.gguf");
  writeSyntheticModel(path, { shape: SHAPE, type: "f16", seed: 5 });
  const model = await loadModel(path, { backend: "wasm", threads: 1, nCtx: N_CTX });
  const logs: string[] = [];
  const log = (l: string) => {
    if (logs.length < 100) logs.push(l);
  };
  const apps = [undefined, "raw" as const].map((template) => buildApp(new ServerCore({ model, ctxSize: N_CTX, parallel: 4, template, log })));
  for (const app of apps) await app.ready();
  process.on("warning", onWarning);
  return { model, apps, logs, dir, rss0: process.memoryUsage.rss() };
}

async function run(data: Uint8Array): Promise<void> {
  const s = await (served ??= start());
  const pick = data.length ? data[0] % 6 : 0;
  const url = ROUTES[pick % 3];
  const r = await s.apps[pick < 3 ? 0 : 1].inject({
    method: "POST", url, headers: { "content-type": "application/json" }, payload: Buffer.from(data.subarray(1)),
  });
  const what = `POST ${url} -> ${r.statusCode}`;
  if (r.statusCode === 200) {
    if (r.headers["content-type"]?.toString().startsWith("text/event-stream")) {
      if (!r.body.endsWith("data: [DONE]\n\n")) throw new Error(`${what}: the event stream does not end with [DONE]`);
      if (r.body.includes('"error"')) throw new Error(`${what}: an error event in the stream: ${r.body.slice(-300)}`);
    } else {
      const body = r.json() as { choices?: unknown[]; data?: unknown[] };
      if (!Array.isArray(body.choices) && !Array.isArray(body.data)) throw new Error(`${what}: no choices / data: ${r.body.slice(0, 300)}`);
    }
  } else if (r.statusCode >= 400 && r.statusCode < 500) {
    let e: { error?: { message?: unknown; type?: unknown } } | undefined;
    try {
      e = r.json();
    } catch { /* checked below */ }
    if (typeof e?.error?.message !== "string" || typeof e.error.type !== "string") throw new Error(`${what}: not an OpenAI error body: ${r.body.slice(0, 300)}`);
    if (/\n\s+at /.test(e.error.message)) throw new Error(`${what}: a stack trace in the error: ${e.error.message.slice(0, 300)}`);
  } else {
    throw new Error(`${what}: ${r.body.slice(0, 300)}${s.logs.length ? `\n${s.logs.slice(-3).join("\n")}` : ""}`);
  }
  if (warnings.length) throw new Error(`${what}: a process warning: ${warnings.splice(0).join("; ")}`);
  const rss = process.memoryUsage.rss();
  if (rss - s.rss0 > MAX_RSS_GROWTH) throw new Error(`${what}: resident memory grew by ${((rss - s.rss0) / 2 ** 20).toFixed(0)} MiB`);
}

async function close(): Promise<void> {
  if (!served) return;
  const s = await served;
  served = undefined;
  process.off("warning", onWarning);
  for (const app of s.apps) await app.close();
  await s.model.close();
  rmSync(s.dir, { recursive: true, force: true });
}

const te = new TextEncoder();
const req = (route: "0" | "1" | "2" | "3" | "4" | "5", body: unknown): Uint8Array => te.encode(route + (typeof body === "string" ? body : JSON.stringify(body)));
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** Valid requests of every shape, and the hostile ones the issue names (answered 200 or 400). */
function seeds(): Uint8Array[] {
  const chatMessages = [
    { role: "system", content: "be brief" },
    { role: "user", content: [{ type: "text", text: "hi " }, { type: "text", text: "there" }] },
    { role: "assistant", content: null },
    { role: "developer", content: "d" },
    { role: "user", message: "seed's field", name: "u" },
  ];
  return [
    req("0", { prompt: "Hello", max_tokens: 4, temperature: 0, seed: 1 }),
    req("0", { model: null, prompt: [1, 5, 9], max_tokens: 3, logprobs: 2, echo: true, top_k: 3, top_p: 0.5, return_token_ids: true }),
    req("0", { prompt: ["a", "b"], n: 2, best_of: 2, max_tokens: 2, stop: ["\n", "x"], logit_bias: { 5: -100, 7: 3 }, frequency_penalty: 1, presence_penalty: -1, repetition_penalty: 1.3 }),
    req("0", { prompt: [[1, 2], [3]], max_tokens: 2, stream: true, stream_options: { include_usage: true }, logprobs: 1 }),
    req("0", { prompt: "x", max_tokens: 1e308, seed: -1e308, top_k: 1e308 }),
    req("0", { prompt: "x", n: 1e9, max_tokens: 1 }),
    req("0", { prompt: "x", stop: Array.from({ length: 5000 }, (_, i) => String(i)) }),
    req("0", { prompt: "x", max_tokens: 1, logit_bias: Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [String(i), 1])) }),
    req("0", `{"prompt":"x","max_tokens":1,"deep":${nested(5000)}}`),
    req("0", `{"prompt":"x","__proto__":{"max_tokens":1},"constructor":{"prototype":{}}}`),
    req("1", { messages: chatMessages, max_tokens: 3, logprobs: true, top_logprobs: 2 }),
    req("3", { messages: chatMessages, max_completion_tokens: 3, stream: true, temperature: 1.5 }),
    req("4", { messages: [{ role: "user", content: "hi" }], max_tokens: 6, n: 4, seed: 3, response_format: { type: "text" }, tools: [] }),
    req("4", { messages: "hello", max_tokens: 1e308, stream: true, stream_options: { include_usage: true } }),
    req("1", { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }, { type: "text", text: 5 }, null, 7] }] }),
    req("4", { messages: [{ role: "user", content: "a", extra: JSON.parse(nested(2000)) }], max_tokens: 1 }),
    req("2", { input: "hello", encoding_format: "float" }),
    req("2", { input: ["a", "b c"], encoding_format: "base64", dimensions: 64 }),
    req("5", { input: [[1, 2], [3, 4, 5]], model: "nope" }),
    req("5", { input: [1, 2, 3], dimensions: 1e308 }),
  ];
}

/** Every field the three bodies know (and a few they do not), for the structure-aware mutator. */
const FIELDS = [
  "model", "prompt", "messages", "input", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "repetition_penalty",
  "frequency_penalty", "presence_penalty", "n", "best_of", "stop", "seed", "stream", "stream_options", "logit_bias", "user",
  "return_token_ids", "logprobs", "top_logprobs", "echo", "suffix", "tools", "response_format", "encoding_format", "dimensions",
  "role", "content", "message", "name", "type", "text", "include_usage", "__proto__", "constructor", "prototype", "toString", "0", "-1",
];

/** Values that break request handlers: boundary numbers, wrong types, big and deep things. */
function hostileValue(m: Mutator): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[m.int(xs.length)];
  switch (m.int(8)) {
    case 0: return pick([0, 1, -1, 2, 4, 5, 16, 17, 20, 21, 47, 48, 49, 100, -100, 101, 255, 256, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e9, 1e308, -1e308, 5e-324, 0.5, 1.5, -0.0, 2.0000001, 1e-300]);
    case 1: return pick(["", " ", "x", "0", "1e308", "text", "image_url", "user", "assistant", "system", "developer", "tool", "base64", "float", "json_object", "\ud800", "\u0000", "</s>", "<s>", "\n", "中文"]);
    case 2: return pick([null, true, false, [], {}, [null], [[]], [{}], [""], [0], [-1], [1.5], [[1], []]]);
    case 3: return "ab中".repeat(1 + m.int(20000)); // up to ~60 KB of text
    case 4: { // a long array of one kind
      const n = 1 + m.int(m.int(2) ? 10 : 5000);
      const item = pick<unknown>([0, 1, "a", "", { type: "text", text: "a" }, { role: "user", content: "a" }, [1, 2], null]);
      return Array.from({ length: n }, () => item);
    }
    case 5: { // many keys (logit_bias-like)
      const n = 1 + m.int(m.int(2) ? 10 : 20000);
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(m.int(2) ? i : i * 7919 % 100000), pick([1, -100, 100, 101, "1", null])]));
    }
    case 6: { // deep nesting
      let v: unknown = pick([1, "a", null]);
      for (let d = 1 + m.int(m.int(2) ? 8 : 3000); d > 0; d--) v = m.int(2) ? [v] : { a: v };
      return v;
    }
    default: return { type: pick(["text", "image_url", ""]), text: pick<unknown>(["a", 5, null, ["a"]]), role: pick(["user", "assistant"]), content: pick<unknown>(["a", null, [], [{ type: "text", text: "b" }]]) };
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Containers of a parsed body (the body itself first), for picking where to mutate. */
function containers(v: Json, out: (Json[] | { [k: string]: Json })[] = [], depth = 0): (Json[] | { [k: string]: Json })[] {
  if (v === null || typeof v !== "object" || depth > 6 || out.length > 200) return out;
  out.push(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) containers(x, out, depth + 1);
  return out;
}

/**
 * JSON-aware mutation (the byte mutator rarely keeps JSON valid): parse the body, then set a
 * known or random field of some object, replace/insert/delete an array item, or drop a key,
 * with values from hostileValue. Bodies that are not JSON are left to the byte mutator.
 */
function mutate(data: Uint8Array, m: Mutator): Uint8Array | undefined {
  if (data.length < 2 || data.length > 1 << 19) return undefined;
  let body: Json;
  try {
    body = JSON.parse(new TextDecoder().decode(data.subarray(1))) as Json;
  } catch {
    return undefined;
  }
  const targets = containers(body);
  if (!targets.length) return undefined;
  for (let k = 1 + m.int(3); k > 0; k--) {
    const c = targets[m.int(targets.length)];
    if (Array.isArray(c)) {
      const at = m.int(c.length + 1);
      const op = m.int(3);
      if (op === 0 && c.length) c.splice(Math.min(at, c.length - 1), 1);
      else if (op === 1) c.splice(at, 0, hostileValue(m) as Json);
      else c[Math.min(at, Math.max(0, c.length - 1))] = hostileValue(m) as Json;
    } else {
      const keys = Object.keys(c);
      if (keys.length && m.int(5) === 0) delete c[keys[m.int(keys.length)]];
      else Object.defineProperty(c, m.int(4) ? FIELDS[m.int(FIELDS.length)] : keys[m.int(keys.length)] ?? "x", { value: hostileValue(m), enumerable: true, writable: true, configurable: true });
    }
  }
  const route = m.int(8) ? data[0] : 0x30 + m.int(6);
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch {
    return undefined; // nesting too deep for stringify: not a mutation we can send
  }
  return te.encode(String.fromCharCode(route) + text);
}

export const serverTarget = {
  name: "server",
  what: "the server's request bodies end to end (completions, chat, embeddings): only 200 / 4xx",
  slowMs: SLOW_MS,
  seeds,
  async init() {
    await (served ??= start());
  },
  run,
  mutate,
  close,
};
