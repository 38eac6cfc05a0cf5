// Bad input never hurts the server: a table of malformed requests, each answered with the
// right status and an OpenAI-shaped error (never a stack trace), each followed by a good
// request that succeeds.
import { expect } from "chai";
import { connect } from "node:net";
import type { LlamaModel } from "@llamats/engine";
import { cleanup, post, serve, tinyModel, type TestServer } from "./helpers.js";

const KEY = "k-123";
const auth = { authorization: `Bearer ${KEY}` };

interface Case {
  name: string;
  path?: string;
  method?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  param?: string;
  code?: string;
}

const C = "/v1/completions";
const CHAT = "/v1/chat/completions";
const EMB = "/v1/embeddings";

function cases(vocab: number): Case[] {
  const ok = { prompt: "hi", max_tokens: 1 };
  const chat = (extra: object) => ({ messages: [{ role: "user", content: "hi" }], max_tokens: 1, ...extra });
  return [
    { name: "no API key", body: ok, headers: { authorization: "" }, status: 401, code: "invalid_api_key" },
    { name: "wrong API key", body: ok, headers: { authorization: "Bearer k-124" }, status: 401 },
    { name: "key with the wrong scheme", body: ok, headers: { authorization: `Basic ${KEY}` }, status: 401 },
    { name: "key as a prefix of the real one", body: ok, headers: { authorization: "Bearer k-12" }, status: 401 },
    { name: "truncated JSON", raw: '{"prompt": "hi", ', status: 400 },
    { name: "JSON array body", raw: "[1, 2]", status: 400 },
    { name: "JSON string body", raw: '"hello"', status: 400 },
    { name: "empty body", raw: "", status: 400 },
    { name: "prototype poisoning", raw: '{"prompt": "hi", "__proto__": {"x": 1}}', status: 400 },
    { name: "body over 1 MiB", body: { prompt: "x".repeat(1.1 * 2 ** 20) }, status: 413 },
    { name: "text/plain body (a string, not an object)", raw: "prompt=hi", headers: { "content-type": "text/plain" }, status: 400 },
    { name: "unsupported content type", raw: "<prompt>hi</prompt>", headers: { "content-type": "application/xml" }, status: 415 },
    { name: "missing prompt", body: { max_tokens: 1 }, status: 400, param: "prompt" },
    { name: "prompt is a number", body: { prompt: 5 }, status: 400, param: "prompt" },
    { name: "prompt is an empty list", body: { prompt: [] }, status: 400, param: "prompt" },
    { name: "prompt token id negative", body: { prompt: [1, -3] }, status: 400, param: "prompt" },
    { name: "prompt token id past the vocabulary", body: { prompt: [1, vocab] }, status: 400, param: "prompt" },
    { name: "prompt token id not an integer", body: { prompt: [1, 2.5] }, status: 400, param: "prompt" },
    { name: "max_tokens negative", body: { ...ok, max_tokens: -1 }, status: 400, param: "max_tokens" },
    { name: "max_tokens as a string (no coercion)", body: { ...ok, max_tokens: "10" }, status: 400, param: "max_tokens" },
    { name: "temperature above 2", body: { ...ok, temperature: 2.5 }, status: 400, param: "temperature" },
    { name: "temperature not a number", body: { ...ok, temperature: "hot" }, status: 400, param: "temperature" },
    { name: "top_p above 1", body: { ...ok, top_p: 1.5 }, status: 400, param: "top_p" },
    { name: "top_k negative", body: { ...ok, top_k: -1 }, status: 400, param: "top_k" },
    { name: "n = 0", body: { ...ok, n: 0 }, status: 400, param: "n" },
    { name: "n = 5", body: { ...ok, n: 5 }, status: 400, param: "n" },
    { name: "five stop strings", body: { ...ok, stop: ["a", "b", "c", "d", "e"] }, status: 400, param: "stop" },
    { name: "stop is a number", body: { ...ok, stop: 7 }, status: 400, param: "stop" },
    { name: "logprobs above 5", body: { ...ok, logprobs: 6 }, status: 400, param: "logprobs" },
    { name: "frequency_penalty above 2", body: { ...ok, frequency_penalty: 3 }, status: 400, param: "frequency_penalty" },
    { name: "repetition_penalty 0", body: { ...ok, repetition_penalty: 0 }, status: 400, param: "repetition_penalty" },
    { name: "seed not an integer", body: { ...ok, seed: 1.5 }, status: 400, param: "seed" },
    { name: "logit_bias key not a token id", body: { ...ok, logit_bias: { abc: 1 } }, status: 400, param: "logit_bias" },
    { name: "logit_bias value out of range", body: { ...ok, logit_bias: { "5": 200 } }, status: 400 },
    { name: "stream not a boolean", body: { ...ok, stream: "yes" }, status: 400, param: "stream" },
    { name: "suffix (unsupported)", body: { ...ok, suffix: "end" }, status: 400, param: "suffix" },
    { name: "unknown model", body: { ...ok, model: "gpt-4" }, status: 400, param: "model", code: "model_not_found" },
    { name: "prompt longer than the context", body: { prompt: Array.from({ length: 300 }, () => 100) }, status: 400, code: "context_length_exceeded" },
    { name: "too many choices (5 prompts x n 4)", body: { prompt: ["a", "b", "c", "d", "e"], n: 4 }, status: 400, param: "n" },
    { name: "chat: messages missing", path: CHAT, body: { max_tokens: 1 }, status: 400, param: "messages" },
    { name: "chat: messages empty", path: CHAT, body: { messages: [] }, status: 400, param: "messages" },
    { name: "chat: unknown role", path: CHAT, body: { messages: [{ role: "wizard", content: "x" }] }, status: 400, param: "messages" },
    { name: "chat: message without content", path: CHAT, body: { messages: [{ role: "user" }] }, status: 400, param: "messages[0].content" },
    { name: "chat: image content part", path: CHAT, body: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, status: 400 },
    { name: "chat: tools", path: CHAT, body: chat({ tools: [{ type: "function", function: { name: "f" } }] }), status: 400, param: "tools" },
    { name: "chat: top_logprobs without logprobs", path: CHAT, body: chat({ top_logprobs: 2 }), status: 400, param: "top_logprobs" },
    { name: "chat: top_logprobs above 20", path: CHAT, body: chat({ logprobs: true, top_logprobs: 21 }), status: 400, param: "top_logprobs" },
    { name: "chat: json response_format", path: CHAT, body: chat({ response_format: { type: "json_object" } }), status: 400, param: "response_format" },
    { name: "embeddings: input missing", path: EMB, body: {}, status: 400, param: "input" },
    { name: "embeddings: input an object", path: EMB, body: { input: { a: 1 } }, status: 400, param: "input" },
    { name: "embeddings: unknown encoding", path: EMB, body: { input: "x", encoding_format: "hex" }, status: 400, param: "encoding_format" },
    { name: "embeddings: other dimensions", path: EMB, body: { input: "x", dimensions: 7 }, status: 400, param: "dimensions" },
    { name: "embeddings: input longer than the context", path: EMB, body: { input: Array.from({ length: 300 }, () => 100) }, status: 400, code: "context_length_exceeded" },
    // The request parser's hostile inputs (issue 18; fuzzed by `npm run fuzz -- --target server`).
    { name: "n = 1e9", body: { ...ok, n: 1e9 }, status: 400, param: "n" },
    { name: "5 000 stop strings", body: { ...ok, stop: Array.from({ length: 5000 }, (_, i) => String(i)) }, status: 400, param: "stop" },
    { name: "logit_bias with 90 000 keys past the vocabulary", body: { ...ok, logit_bias: Object.fromEntries(Array.from({ length: 90000 }, (_, i) => [String(vocab + i), 1])) }, status: 400, param: "logit_bias" },
    { name: "logit_bias key that is not a plain integer", body: { ...ok, logit_bias: { "1e3": 1 } }, status: 400, param: "logit_bias" },
    { name: "chat: a text part whose text is a number", path: CHAT, body: { messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] }, status: 400 },
    { name: "chat: a null content part", path: CHAT, body: { messages: [{ role: "user", content: [null] }] }, status: 400 },
    { name: "chat: a content part without a type", path: CHAT, body: { messages: [{ role: "user", content: [{ text: "x" }] }] }, status: 400 },
    { name: "deeply nested JSON (100 000 levels) in the prompt", raw: `{"prompt":${"[".repeat(100000)}${"]".repeat(100000)}}`, status: 400, param: "prompt" },
    { name: "unknown route", path: "/v1/nothing", body: {}, status: 404 },
    { name: "GET on a POST route", path: C, method: "GET", status: 404 },
  ];
}

describe("server: malformed requests", function () {
  let model: LlamaModel;
  let srv: TestServer;
  before(async () => {
    model = await tinyModel();
    srv = await serve(model, { apiKey: KEY, parallel: 1 });
  });
  after(async () => {
    await srv?.stop();
    model?.dispose();
    cleanup();
  });

  it("has at least 30 cases", () => {
    expect(cases(100).length).to.be.at.least(30);
  });

  async function good(): Promise<void> {
    const r = await post(`${srv.url}${C}`, { prompt: "hi", max_tokens: 2, temperature: 0 }, auth);
    expect(r.status).to.equal(200);
    expect(r.json.choices[0].finish_reason).to.equal("length");
  }

  for (const c of cases(32000)) {
    it(`${c.name} -> ${c.status}, then a good request`, async () => {
      const headers: Record<string, string> = { "content-type": "application/json", ...auth, ...c.headers };
      if (headers.authorization === "") delete headers.authorization;
      const r = await fetch(`${srv.url}${c.path ?? C}`, {
        method: c.method ?? "POST", headers,
        body: c.method === "GET" ? undefined : c.raw !== undefined ? c.raw : JSON.stringify(c.body),
      });
      const text = await r.text();
      expect(r.status, text).to.equal(c.status);
      const body = JSON.parse(text) as { error: { message: string; type: string; param: string | null; code: string | null } };
      expect(Object.keys(body)).to.deep.equal(["error"]);
      expect(body.error.message).to.be.a("string").and.not.match(/\n\s+at /);
      expect(body.error.type).to.be.a("string");
      expect(body.error).to.have.keys(["message", "type", "param", "code"]);
      if (c.param) expect(body.error.param).to.equal(c.param);
      if (c.code) expect(body.error.code).to.equal(c.code);
      await good();
    });
  }

  it("hostile values the schema accepts stay bounded: max_tokens 1e308 stops at the context, seed/top_k 1e308, a 500 000-deep unknown field (1 MB, under the body limit)", async function () {
    this.timeout(60000);
    const small = await serve(model, { apiKey: KEY, parallel: 1, ctxSize: 24 });
    try {
      const r = await post(`${small.url}${C}`, { prompt: [1, 5], max_tokens: 1e308, temperature: 0 }, auth);
      expect(r.status, JSON.stringify(r.json)).to.equal(200);
      expect(r.json.choices[0].finish_reason).to.equal("length");
      expect(r.json.usage.completion_tokens).to.equal(24 - 2); // the context is full
      const s = await post(`${small.url}${C}`, { prompt: "hi", max_tokens: 2, seed: 1e308, top_k: 1e308 }, auth);
      expect(s.status, JSON.stringify(s.json)).to.equal(200);
      const deep = `{"prompt":"hi","max_tokens":1,"extra":${"[".repeat(500000)}${"]".repeat(500000)}}`;
      const d = await post(`${small.url}${CHAT.replace("chat/", "")}`, deep, auth);
      expect(d.status, JSON.stringify(d.json)).to.equal(200);
    } finally {
      await small.stop();
    }
  });

  it("logit_bias with 10^6 keys (a server whose body limit is raised to 16 MiB) -> 400 naming logit_bias", async function () {
    this.timeout(60000);
    const big = await serve(model, { apiKey: KEY, parallel: 1, bodyLimit: 16 << 20 });
    try {
      const keys = Array.from({ length: 1e6 }, (_, i) => `"${model.config.vocabSize + i}":1`).join(",");
      const r = await post(`${big.url}${C}`, `{"prompt":"hi","max_tokens":1,"logit_bias":{${keys}}}`, auth);
      expect(r.status, JSON.stringify(r.json).slice(0, 300)).to.equal(400);
      expect(r.json.error.param).to.equal("logit_bias");
    } finally {
      await big.stop();
    }
  });

  it("a request node's HTTP parser rejects (bad Content-Length) -> 400 JSON, then a good request", async () => {
    const { port } = srv;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => s.write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"));
      let data = "";
      s.on("data", (d) => (data += d));
      s.on("end", () => resolve(data));
      s.on("error", reject);
    });
    expect(reply).to.match(/^HTTP\/1.1 400/);
    expect(JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)).error.code).to.equal("bad_request");
    await good();
  });

  it("/health and /metrics need no key; the log has one line per request", async () => {
    const h = await fetch(`${srv.url}/health`);
    expect(h.status).to.equal(200);
    expect(await h.json()).to.include({ status: "ok" });
    const m = await fetch(`${srv.url}/metrics`);
    const text = await m.text();
    expect(m.headers.get("content-type")).to.match(/^text\/plain/);
    expect(text).to.match(/llamats_requests_total\{route="\/v1\/completions",status="401"\} 4/);
    expect(text).to.match(/llamats_requests_total\{route="\/v1\/completions",status="200"\} \d+/);
    const n = srv.logs.length;
    await good();
    await new Promise((r) => setTimeout(r, 20));
    expect(srv.logs.length).to.equal(n + 1);
    expect(srv.logs[n]).to.match(/^\S+Z 127\.0\.0\.1 POST \/v1\/completions 200 \d+ms prompt=\d+$/);
  });
});
