// What langchain-qa.ts and langchain-sum.ts share: the LLM (and embeddings) either in this
// process (@llamats/langchain over a loaded model) or from `llamats serve` through
// @langchain/openai (`--server URL`), with the seed's generation settings: greedy decoding
// with repetition penalty 1.1 (its pipeline's do_sample stayed off).
import { OpenAI, OpenAIEmbeddings } from "@langchain/openai";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseLLM } from "@langchain/core/language_models/llms";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { LlamatsEmbeddings, LlamatsLLM } from "@llamats/langchain";

export interface Backend {
  llm: BaseLLM;
  embeddings: Embeddings;
  /** Frees the in-process model (nothing for a server). */
  close(): void;
}

export interface BackendOptions {
  /** A model file or folder to run in this process. */
  modelPath?: string;
  /** Or the base URL of `llamats serve`, e.g. http://127.0.0.1:19327. */
  server?: string;
  /** New tokens per answer (default 400). */
  maxTokens?: number;
  /** In-process: an already loaded model instead of modelPath. */
  model?: LlamaModel;
  /** Server: the API key if the server was started with --api-key. */
  apiKey?: string;
  /** Server: the model id to name in requests (default: the first of GET /v1/models). */
  modelId?: string;
  /** Server: a fetch to send requests through (tests record them). */
  fetch?: typeof fetch;
}

export async function openBackend(o: BackendOptions): Promise<Backend> {
  const maxTokens = o.maxTokens ?? 400;
  if (o.server) {
    const baseURL = `${o.server.replace(/\/+$/, "")}/v1`;
    const configuration = { baseURL, fetch: o.fetch };
    const apiKey = o.apiKey ?? process.env.OPENAI_API_KEY ?? "none";
    const model = o.modelId ?? (await servedModel(baseURL, apiKey));
    return {
      // /v1/completions with the prompt as the chain formatted it (the server adds no template
      // unless started with --template alpaca); repetition_penalty is the seed's extension.
      llm: new OpenAI({ model, apiKey, configuration, temperature: 0, maxTokens, modelKwargs: { repetition_penalty: 1.1 } }),
      // stripNewLines off: the server embeds the text exactly as the in-process class does.
      embeddings: new OpenAIEmbeddings({ model, apiKey, configuration, stripNewLines: false }),
      close: () => {},
    };
  }
  const model = o.model ?? (await loadModel(requirePath(o.modelPath), { backend: "auto" }));
  return {
    llm: new LlamatsLLM({ model, temperature: 0, repeatPenalty: 1.1, maxTokens }),
    embeddings: new LlamatsEmbeddings({ model }),
    close: () => {
      if (!o.model) model.dispose();
    },
  };
}

/** The id of the model a server serves (requests must name it or none; LangChain always names one). */
async function servedModel(baseURL: string, apiKey: string): Promise<string> {
  const r = await fetch(`${baseURL}/models`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!r.ok) throw new Error(`${baseURL}/models: HTTP ${r.status} ${await r.text()}`);
  const id = ((await r.json()) as { data?: { id?: string }[] }).data?.[0]?.id;
  if (!id) throw new Error(`${baseURL}/models lists no model`);
  return id;
}

function requirePath(p: string | undefined): string {
  if (!p) throw new Error("give --model_path MODEL (in-process) or --server URL (llamats serve)");
  return p;
}

/** The seed's flags (--file_path, --model_path, --chain_type) plus --server and --max_tokens. */
export function parseFlags(argv: string[], extra: string[] = []): Record<string, string> {
  const flags: Record<string, string> = {};
  const known = new Set(["file_path", "model_path", "chain_type", "server", "max_tokens", "api_key", ...extra]);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z_-]+)(?:=(.*))?$/.exec(argv[i]);
    const name = m?.[1].replace(/-/g, "_");
    if (!m || !known.has(name!)) throw new Error(`unknown argument ${argv[i]} (flags: ${[...known].map((k) => `--${k}`).join(" ")})`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags[name!] = value;
  }
  return flags;
}
