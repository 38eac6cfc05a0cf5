// startServer(): build the app, listen, and a handle to stop it gracefully: stop accepting,
// let in-flight requests run for up to shutdownGraceMs, then end them (a stream gets an error
// event and [DONE]), close. `llamats serve` calls close() on SIGTERM / SIGINT and exits 0.

import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import { ServerCore } from "./core.js";
import { ApiError } from "./errors.js";
import { DEFAULTS, type ServerOptions } from "./options.js";

export interface ServerHandle {
  /** e.g. http://127.0.0.1:19327 */
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly core: ServerCore;
  /** Resolves once the model is loaded and the slots exist; rejects if loading failed. */
  readonly ready: Promise<void>;
  /** Graceful stop (idempotent). */
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const core = new ServerCore(opts);
  const app = buildApp(core);
  await app.listen({ host: opts.host ?? DEFAULTS.host, port: opts.port ?? DEFAULTS.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    app,
    core,
    ready: core.loaded,
    close: () => (closing ??= shutdown(core, app, opts.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs)),
  };
}

async function shutdown(core: ServerCore, app: FastifyInstance, graceMs: number): Promise<void> {
  core.draining = true;
  core.pool?.rejectWaiting(new ApiError(503, "server is shutting down", "server_error", null, "shutting_down"));
  const endAll = () => {
    for (const ac of core.inflight) ac.abort("shutdown");
  };
  const timer = setTimeout(endAll, graceMs);
  const closed = app.close(); // stops listening now; resolves when the last connection ends
  // Requests still running once the grace period is over are ended; waiting for them is bounded.
  await Promise.race([closed, new Promise((r) => setTimeout(r, graceMs + 2000).unref())]);
  clearTimeout(timer);
  endAll();
  // Give the slots' KV caches back (the model may outlive this server).
  for (const slot of core.pool?.slots ?? []) if (!slot.busy) slot.seq.dispose();
}
