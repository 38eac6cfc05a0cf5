// `llamats serve --browser-demo`: the in-browser demo (@llamats/browser) at /browser/, and
// nothing else but /health. The model runs in the page: the server holds no model and only
// serves the built static files, read once at start. Every response under /browser/ is
// cross-origin isolated (COOP same-origin + COEP require-corp), which browsers require for
// SharedArrayBuffer and shared WebAssembly.Memory (the kernels' memories are shared).
// With modelsDir, the .gguf files in that folder are also served at /models/NAME with HTTP
// range requests (206 Partial Content), which the page uses to read a model tensor by tensor.

import { createReadStream, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyReply } from "fastify";
import { browserAssetsDir, browserFiles, crossOriginIsolationHeaders } from "@llamats/browser/assets";
import { parseByteRange } from "./byte-range.js";

export interface BrowserDemoOptions {
  readonly host?: string;
  readonly port?: number;
  /** One line per request and notices (default: stderr). */
  readonly log?: (line: string) => void;
  /** The built files (default: @llamats/browser's dist/public). */
  readonly assetsDir?: string;
  /** A folder whose .gguf files are served at /models/NAME, with range requests. */
  readonly modelsDir?: string;
}

export interface BrowserDemoHandle {
  /** e.g. http://127.0.0.1:19327 (the page is at `${url}/browser/`) */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startBrowserDemoServer(opts: BrowserDemoOptions = {}): Promise<BrowserDemoHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const dir = opts.assetsDir ?? browserAssetsDir;
  const files = new Map<string, { type: string; body: Buffer }>();
  let missing: string | undefined;
  for (const [name, type] of Object.entries(browserFiles)) {
    try {
      files.set(name, { type, body: readFileSync(join(dir, name)) });
    } catch {
      missing = `${join(dir, name)} is missing; build the page with \`npm run build\``;
    }
  }
  if (missing) log(`llamats serve: no browser demo: ${missing}`);
  const app = Fastify({ logger: false });
  app.addHook("onRequest", async (req, reply) => {
    const t0 = performance.now();
    reply.raw.once("close", () => log(`${new Date().toISOString()} ${req.ip} ${req.method} ${req.url.split("?")[0]} ${reply.raw.statusCode} ${(performance.now() - t0).toFixed(0)}ms`));
    for (const [k, v] of Object.entries(crossOriginIsolationHeaders)) reply.raw.setHeader(k, v);
  });
  app.get("/health", async () => ({ status: "ok", mode: "browser-demo" }));
  app.get("/", async (_req, reply) => reply.redirect("/browser/"));
  app.get("/browser", async (_req, reply) => reply.redirect("/browser/"));
  const serveFile = (name: string, reply: FastifyReply) => {
    if (missing) return reply.code(503).type("text/plain; charset=utf-8").send(`${missing}\n`);
    const f = files.get(name);
    if (!f) return reply.code(404).type("text/plain; charset=utf-8").send("not found\n");
    return reply.header("cache-control", "no-cache").type(f.type).send(f.body);
  };
  app.get("/browser/", async (_req, reply) => serveFile("index.html", reply));
  app.get<{ Params: { file: string } }>("/browser/:file", async (req, reply) => serveFile(req.params.file, reply));
  const modelsDir = opts.modelsDir;
  if (modelsDir !== undefined) {
    app.get<{ Params: { file: string } }>("/models/:file", async (req, reply) => {
      const name = req.params.file;
      let size: number | undefined;
      try {
        if (name === basename(name) && name.endsWith(".gguf")) size = statSync(join(modelsDir, name)).size;
      } catch {
        // not there: 404 below
      }
      if (size === undefined) return reply.code(404).type("text/plain; charset=utf-8").send("not found\n");
      const range = parseByteRange(req.headers.range, size);
      reply.header("accept-ranges", "bytes").header("cache-control", "no-cache").type("application/octet-stream");
      if (range.kind === "unsatisfiable") return reply.code(416).header("content-range", `bytes */${size}`).send();
      if (range.kind === "whole") return reply.header("content-length", size).send(createReadStream(join(modelsDir, name)));
      return reply
        .code(206)
        .header("content-range", `bytes ${range.first}-${range.last}/${size}`)
        .header("content-length", range.last - range.first + 1)
        .send(createReadStream(join(modelsDir, name), { start: range.first, end: range.last }));
    });
  }
  await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 19327 });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return { url: `http://${host}:${addr.port}`, port: addr.port, close: () => app.close() };
}
