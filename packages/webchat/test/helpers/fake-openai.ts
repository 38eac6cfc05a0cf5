// A stand-in for `llamats serve` used until the real server is available to these tests: it
// serves the built page and speaks the OpenAI chat-completions SSE format, one chunk per
// scripted token with a delay, freeing its "slot" when the client disconnects.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadWebchatAssets, webchatCsp } from "../../src/index.js";

export interface FakeServer {
  url: string;
  /** Bodies of every POST /v1/chat/completions, in order. */
  requests: Record<string, unknown>[];
  active(): number;
  close(): Promise<void>;
}

export async function startFakeServer(tokens: string[], delayMs: number): Promise<FakeServer> {
  const assets = loadWebchatAssets();
  const requests: Record<string, unknown>[] = [];
  let active = 0;
  const server: Server = createServer((req, res) => {
    const asset = assets.find((a) => a.urlPath === req.url);
    if (req.method === "GET" && asset) {
      res.writeHead(200, { "content-type": asset.contentType, "content-security-policy": webchatCsp });
      res.end(asset.body);
      return;
    }
    if (req.method === "GET" && req.url === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: "fake-model", object: "model" }] }));
      return;
    }
    if (req.method === "GET" && req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`llamats_active_sequences ${active}\n`);
      return;
    }
    if (req.method === "POST" && req.url === "/v1/chat/completions") {
      let raw = "";
      req.on("data", (d: Buffer) => { raw += d.toString("utf8"); });
      req.on("end", () => {
        requests.push(JSON.parse(raw) as Record<string, unknown>);
        active++;
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
          `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", model: "fake-model", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.write(chunk({ role: "assistant", content: "" }, null));
        let k = 0;
        let ended = false;
        const finish = (): void => {
          if (ended) return;
          ended = true;
          active--;
          clearInterval(timer);
        };
        const timer = setInterval(() => {
          if (k < tokens.length) {
            res.write(chunk({ content: tokens[k++] }, null));
            return;
          }
          res.write(chunk({}, "stop"));
          res.write(`data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 5, completion_tokens: tokens.length, total_tokens: tokens.length + 5 } })}\n\n`);
          res.end("data: [DONE]\n\n");
          finish();
        }, delayMs);
        res.on("close", finish);
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    active: () => active,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
