// Shared by the server tests: the synthetic tiny model (f16: the WebAssembly f16 kernel gives
// the same bits for a row whatever the batch, so batched and single replies can be compared
// exactly), a server on an ephemeral 127.0.0.1 port, and raw HTTP helpers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, writeSyntheticModel, type LlamaModel } from "@llamats/engine";
import { startServer, type ServerHandle, type ServerOptions } from "@llamats/server";

let dir: string | undefined;
let modelPath: string | undefined;

export function tinyModelPath(): string {
  dir ??= mkdtempSync(join(tmpdir(), "llamats-server-"));
  if (!modelPath) {
    modelPath = join(dir, "tiny-f16.gguf");
    writeSyntheticModel(modelPath, { shape: "tiny", type: "f16", seed: 3 });
  }
  return modelPath;
}

export function cleanup(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  modelPath = undefined;
}

export const LOAD = { backend: "wasm", threads: 1, nCtx: 256 } as const;

export async function tinyModel(): Promise<LlamaModel> {
  return loadModel(tinyModelPath(), LOAD);
}

export interface TestServer extends ServerHandle {
  readonly logs: string[];
  stop(): Promise<void>;
}

/** A server on 127.0.0.1:0 over `model` (the caller disposes the model). */
export async function serve(model: LlamaModel | Promise<LlamaModel>, opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const logs: string[] = [];
  const h = await startServer({ model, host: "127.0.0.1", port: 0, log: (l) => logs.push(l), ...opts });
  await h.ready;
  return Object.assign(h, { logs, stop: () => h.close() });
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, headers: r.headers, json };
}

/** Data events of an SSE body, "[DONE]" included as the string. */
export function sseEvents(text: string): unknown[] {
  return text.split("\n\n").filter((b) => b.startsWith("data: ")).map((b) => {
    const d = b.slice(6);
    return d === "[DONE]" ? d : JSON.parse(d);
  });
}
