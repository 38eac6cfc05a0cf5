// `llamats serve -m MODEL [--host 127.0.0.1] [--port 19327] [--api-key KEY | --api-key-file F]
//   [--parallel N] [--ctx-size N] [--threads N] [--lora DIR[,DIR]] [--alpha A|auto]
//   [--template alpaca|raw|gradio] [--cors ORIGIN] [--backend ts|wasm|gpu|auto]`: the OpenAI-compatible server
// (@llamats/server, docs/SERVER.md). It listens at once (/health says "loading" until the model
// is in memory), logs one line per request on stderr, and on SIGTERM / SIGINT stops accepting,
// ends in-flight requests within a bound and exits 0.
// `llamats serve --browser-demo [--host] [--port] [--browser-models DIR]`: no model; serves the in-browser demo
// (@llamats/browser, docs/BROWSER.md) at /browser/, cross-origin isolated.

import { readFileSync, statSync } from "node:fs";
import { type Command, Option } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { startBrowserDemoServer, startServer, TEMPLATE_NAMES, type TemplateName } from "@llamats/server";
import { cacheTypeOption, loadOptionsFrom, parseIntArg } from "./model-options.js";

interface ServeCliOptions {
  model?: string;
  browserDemo?: boolean;
  browserModels?: string;
  host: string;
  port: string;
  apiKey?: string;
  apiKeyFile?: string;
  parallel: string;
  ctxSize?: string;
  threads?: string;
  lora?: string;
  tokenizer?: string;
  alpha?: string;
  template?: string;
  cors?: string;
  backend?: string;
  cacheType?: string;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("serve the model over an OpenAI-compatible HTTP API (completions, chat, embeddings)")
    .option("-m, --model <path>", "model: GGUF file, HF or Meta folder (required unless --browser-demo)")
    .option("--browser-demo", "serve only the in-browser demo page at /browser/ (the model runs in the browser; no -m)")
    .option("--browser-models <dir>", "with --browser-demo: also serve the .gguf files of this folder at /models/NAME (HTTP range requests)")
    .option("--host <addr>", "address to bind (0.0.0.0 exposes the server to the network)", "127.0.0.1")
    .option("--port <n>", "TCP port", "19327")
    .option("--api-key <key>", "require `Authorization: Bearer KEY` on /v1/*")
    .option("--api-key-file <file>", "read the API key from a file (first line)")
    .option("--parallel <n>", "sequences generating at once, batched into one forward", "4")
    .option("--ctx-size <n>", "context (KV cache) tokens per sequence (default: the model's, at most 2048)")
    .option("--threads <n>", "worker threads")
    .option("--lora <dirs>", "PEFT LoRA adapter folder(s), comma-separated, applied at load")
    .option("--tokenizer <path>", "tokenizer for a model without one (or to replace its own): SentencePiece .model, GGUF, or llama2.c tokenizer.bin")
    .option("--alpha <a>", 'NTK RoPE scaling: a number (1 = none) or "auto"')
    .option("--template <name>", `chat prompt template: ${TEMPLATE_NAMES.join(", ")} (default alpaca; given explicitly as alpaca, /v1/completions prompts are wrapped too)`)
    .option("--cors <origin>", "allow browsers from this origin (or *)")
    .addOption(new Option("--backend <name>", "compute backend").choices(["ts", "wasm", "gpu", "auto"]))
    .addOption(cacheTypeOption())
    .action(async (o: ServeCliOptions) => {
      const port = parseIntArg("--port", o.port, 0);
      if (port > 65535) throw new LlamatsError(`--port ${o.port}: want 0 .. 65535`);
      if (o.browserDemo) return serveBrowserDemo(o, port);
      if (o.browserModels !== undefined) throw new LlamatsError("--browser-models goes with --browser-demo");
      if (o.model === undefined) throw new LlamatsError("missing -m/--model (or give --browser-demo)");
      const parallel = parseIntArg("--parallel", o.parallel, 1);
      if (o.apiKey !== undefined && o.apiKeyFile !== undefined) throw new LlamatsError("give --api-key or --api-key-file, not both");
      const apiKey = o.apiKeyFile !== undefined ? readKey(o.apiKeyFile) : o.apiKey;
      if (apiKey !== undefined && apiKey === "") throw new LlamatsError("the API key is empty");
      if (o.template !== undefined && !(TEMPLATE_NAMES as readonly string[]).includes(o.template)) {
        throw new LlamatsError(`--template ${o.template}: want one of ${TEMPLATE_NAMES.join(", ")}`);
      }
      const lora = o.lora ? o.lora.split(",").map((d) => d.trim()).filter((d) => d !== "") : [];
      if (o.ctxSize !== undefined) parseIntArg("--ctx-size", o.ctxSize, 1);
      const load = loadOptionsFrom({ model: o.model, lora, tokenizer: o.tokenizer, alpha: o.alpha, threads: o.threads, ctx: o.ctxSize, backend: o.backend, cacheType: o.cacheType });
      const modelPromise = loadModel(o.model, load);
      modelPromise.catch(() => {}); // reported below through server.ready
      let server;
      try {
        server = await startServer({
          model: modelPromise, host: o.host, port, apiKey, parallel, template: o.template as TemplateName | undefined, cors: o.cors,
        });
      } catch (err) {
        void modelPromise.then((m) => m.dispose(), () => {});
        const e = err as { code?: string; message?: string };
        throw new LlamatsError(`cannot listen on ${o.host}:${port}: ${e.code ?? e.message}`);
      }
      process.stderr.write(`llamats serve: listening on ${server.url} (loading ${o.model})\n`);
      let model: LlamaModel | undefined;
      const stop = new Promise<string>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      try {
        await Promise.race([server.ready, stop]);
        model = server.core.model;
        if (model) process.stderr.write(`llamats serve: ready: ${server.core.modelId}, ${parallel} sequences of ${server.core.pool!.slots[0].seq.nCtx} tokens\n`);
      } catch (err) {
        await server.close();
        throw err instanceof LlamatsError ? err : new LlamatsError(`cannot load ${o.model}: ${(err as Error).message}`);
      }
      const signal = await stop;
      process.stderr.write(`llamats serve: ${signal}: shutting down\n`);
      await server.close();
      (model ?? server.core.model)?.dispose();
      void modelPromise.then((m) => m.dispose(), () => {});
      // Anything still holding the event loop open must not keep a stopped server alive.
      setTimeout(() => process.exit(0), 2000).unref();
    });
}

async function serveBrowserDemo(o: ServeCliOptions, port: number): Promise<void> {
  if (o.model !== undefined) throw new LlamatsError("--browser-demo serves no model (the page loads one in the browser): drop -m");
  if (o.browserModels !== undefined && !isDirectory(o.browserModels)) throw new LlamatsError(`--browser-models ${o.browserModels}: not a folder`);
  let demo;
  try {
    demo = await startBrowserDemoServer({ host: o.host, port, modelsDir: o.browserModels });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new LlamatsError(`cannot listen on ${o.host}:${port}: ${e.code ?? e.message}`);
  }
  process.stderr.write(`llamats serve: browser demo at ${demo.url}/browser/\n`);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  process.stderr.write(`llamats serve: ${signal}: shutting down\n`);
  await demo.close();
  setTimeout(() => process.exit(0), 2000).unref();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readKey(file: string): string {
  try {
    return readFileSync(file, "utf8").split(/\r?\n/)[0].trim();
  } catch (err) {
    throw new LlamatsError(`cannot read --api-key-file ${file}: ${(err as Error).message}`);
  }
}
