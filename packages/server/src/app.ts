// The fastify application: JSON-schema validation (ajv without coercion), OpenAI-shaped errors
// for everything (validation, body limit, bad JSON, unknown routes), API-key auth on /v1/*,
// CORS, one log line per request, and the routes. /health and /metrics stay open without a
// key (load balancers and Prometheus probe them); `/` is the web chat page, or a static folder.

import { readFile, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { LlamatsError } from "@llamats/tensor";
import { keyMatches } from "./auth.js";
import { handleCompletion, errorOf } from "./completions.js";
import type { ServerCore } from "./core.js";
import { handleEmbeddings } from "./embeddings.js";
import { ApiError, errorBody } from "./errors.js";
import { DEFAULTS } from "./options.js";
import { chatSchema, completionSchema, embeddingSchema } from "./schemas.js";
import { registerWebchat } from "./webchat.js";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
};

export function buildApp(core: ServerCore): FastifyInstance {
  const opts = core.opts;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? DEFAULTS.bodyLimit,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Requests node's HTTP parser rejects (bad request line, bad Content-Length): 400 in OpenAI's shape.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy();
      const body = JSON.stringify(errorBody(`Malformed HTTP request (${(err as { code?: string }).code ?? "parse error"})`, "invalid_request_error", null, "bad_request"));
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
  });

  app.addHook("onRequest", async (req, reply) => {
    const t0 = performance.now();
    reply.raw.once("close", () => {
      const status = reply.raw.headersSent ? reply.raw.statusCode : 499; // 499: the client left first
      const route = req.routeOptions.url ?? "(none)";
      core.metrics.countRequest(route, status);
      const note = (reply as unknown as { usageNote?: string }).usageNote;
      log(`${new Date().toISOString()} ${req.ip} ${req.method} ${req.url.split("?")[0]} ${status} ${(performance.now() - t0).toFixed(0)}ms${note ? " " + note : ""}`);
    });
    if (opts.cors) {
      reply.raw.setHeader("access-control-allow-origin", opts.cors);
      if (opts.cors !== "*") reply.raw.setHeader("vary", "Origin");
    }
    if (req.method === "OPTIONS" && opts.cors) {
      reply.raw.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      reply.raw.setHeader("access-control-allow-headers", "authorization, content-type, openai-organization, openai-project, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count, x-stainless-timeout");
      reply.raw.setHeader("access-control-max-age", "600");
      return reply.code(204).send();
    }
    if (opts.apiKey !== undefined && req.url.startsWith("/v1/") && !keyMatches(req.headers.authorization, opts.apiKey)) {
      throw new ApiError(401, "Incorrect or missing API key: send `Authorization: Bearer <key>`", "authentication_error", null, "invalid_api_key");
    }
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, _req: FastifyRequest, reply: FastifyReply) => {
    const e = toApiError(err);
    if (e.status === 503 && !reply.hasHeader("retry-after")) reply.header("retry-after", "1");
    if (e.status >= 500 && !(err instanceof ApiError)) log(`error: ${(err as Error).message}`);
    if (reply.raw.headersSent || reply.raw.destroyed) return;
    reply.code(e.status).send(e.body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(`Unknown route: ${req.method} ${req.url.split("?")[0]}`, "not_found_error", null, "unknown_url"));
  });

  app.get("/health", async (_req, reply) => {
    if (core.draining) return reply.code(503).send({ status: "shutting down" });
    if (core.loadError) return reply.code(503).send({ status: "error", error: "the model failed to load" });
    if (!core.pool) return reply.code(503).header("retry-after", "1").send({ status: "loading" });
    return { status: "ok", slots_idle: core.pool.slots.length - core.pool.active, slots_processing: core.pool.active, queued: core.pool.queued };
  });
  app.get("/metrics", async (_req, reply) => {
    const pool = core.pool;
    reply.type("text/plain; version=0.0.4; charset=utf-8");
    return core.metrics.render({
      loaded: core.model !== undefined, slots: pool?.slots.length ?? 0, active: pool?.active ?? 0, queued: pool?.queued ?? 0,
      kvBytes: core.model?.kvBytes ?? 0,
    });
  });
  const modelEntry = () => ({ id: core.modelId, object: "model", created: core.created, owned_by: "llamats" });
  app.get("/v1/models", async () => {
    core.ready();
    return { object: "list", data: [modelEntry()] };
  });
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    core.ready();
    if (req.params.id !== core.modelId) throw new ApiError(404, `The model \`${req.params.id}\` does not exist`, "not_found_error", "model", "model_not_found");
    return modelEntry();
  });
  app.post("/v1/completions", { schema: { body: completionSchema } }, (req, reply) => handleCompletion(core, "text", req, reply));
  app.post("/v1/chat/completions", { schema: { body: chatSchema } }, (req, reply) => handleCompletion(core, "chat", req, reply));
  app.post("/v1/embeddings", { schema: { body: embeddingSchema } }, (req, reply) => handleEmbeddings(core, req, reply));

  if (!opts.staticDir) registerWebchat(app, log);
  else {
    const root = resolve(opts.staticDir);
    const serveFile = async (urlPath: string, reply: FastifyReply) => {
      const rel = decodeURIComponent(urlPath.split("?")[0]).replace(/^\/+/, "") || "index.html";
      const file = resolve(root, rel);
      if (file !== root && !file.startsWith(root + sep)) throw new ApiError(404, "not found", "not_found_error");
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) throw new ApiError(404, `not found: ${urlPath}`, "not_found_error");
      reply.type(CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream");
      return reply.send(await readFile(file));
    };
    app.get("/", (req, reply) => serveFile("/", reply));
    app.get("/*", (req, reply) => serveFile(req.url, reply));
  }
  return app;
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as FastifyError & { validation?: { instancePath: string; keyword?: string; message?: string; params?: Record<string, unknown> }[] };
  if (e.validation && e.validation.length) {
    // For a field with several accepted forms (anyOf), say so rather than quote the first form.
    const any = e.validation.find((x) => x.keyword === "anyOf");
    const v = any ? { ...any, message: "has none of the accepted types / shapes" } : e.validation[0];
    const path = v.instancePath.replace(/^\//, "").split("/").filter(Boolean).map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : (i ? "." : "") + p)).join("");
    const missing = v.params && typeof v.params.missingProperty === "string" ? v.params.missingProperty : undefined;
    const param = missing ? (path ? `${path}.${missing}` : missing) : path || null;
    return new ApiError(400, `Invalid request: ${param ?? "body"} ${v.message ?? "is invalid"}`, "invalid_request_error", param, "invalid_value");
  }
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ApiError(413, "Request body too large", "invalid_request_error", null, "request_too_large");
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ApiError(415, "Unsupported Content-Type: send application/json", "invalid_request_error", null, "unsupported_media_type");
  if (err instanceof LlamatsError) return new ApiError(400, err.message);
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // Malformed JSON, empty body, bad content-length, prototype poisoning: fastify's 4xx.
    return new ApiError(e.statusCode, `Invalid request: ${e.message}`, "invalid_request_error", null, e.code ?? null);
  }
  return errorOf(err);
}
