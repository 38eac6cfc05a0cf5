// The web chat page (@llamats/webchat) at `/`: its three built files, read once at start and
// served from memory with a strict Content-Security-Policy. Not built (a checkout without
// `npm run build`): `/` says so instead of failing the server.

import type { FastifyInstance } from "fastify";
import { loadWebchatAssets, webchatCsp, type WebchatAsset } from "@llamats/webchat";

export function registerWebchat(app: FastifyInstance, log: (line: string) => void): void {
  let assets: WebchatAsset[];
  try {
    assets = loadWebchatAssets();
  } catch (err) {
    log(`llamats serve: no chat page at /: ${(err as Error).message}`);
    app.get("/", async (_req, reply) => reply.code(503).type("text/plain; charset=utf-8").send(`${(err as Error).message}\n`));
    return;
  }
  for (const a of assets) {
    app.get(a.urlPath, async (_req, reply) =>
      reply.header("content-security-policy", webchatCsp).header("cache-control", "no-cache").type(a.contentType).send(a.body));
  }
}
