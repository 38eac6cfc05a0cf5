// `llamats bench -m MODEL [-p 64,512] [-n 32] [--threads 1,2] [--reps R] [--json]`: prompt
// processing (ppN: N tokens in one forward from an empty cache) and token generation (tgN:
// N single-token forwards from an empty cache) speeds in tokens/s, mean and standard
// deviation over R repetitions after one warm-up, in the shape of llama.cpp's llama-bench.
// The model is loaded once per thread count. Data (table or JSON) on stdout, logs on stderr.
// --json prints one line [{"test": "pp64", "threads": 2, "tps": 12.3, "stddev": 0.2, ...}, ...]:
// issue 8's four keys first, then llama-bench's own (issue 15): "model_type" ("llama 7B
// Q4_0"), "model_size" (bytes of weights), "model_n_params", "n_prompt", "n_gen",
// "n_threads", "avg_ts", "stddev_ts", so its tools read our rows.

import { Option, type Command } from "commander";
import { LlamatsError, ggmlTypeInfo } from "@llamats/tensor";
import { quantizeFileTypes } from "@llamats/quant";
import { openModelSource, type SourceFormat } from "@llamats/formats";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { cacheTypeOption, parseIntArg } from "./model-options.js";

export interface BenchResult {
  readonly test: string;
  readonly threads: number;
  readonly tps: number;
  readonly stddev: number;
  /** Tokens of the prompt (ppN) or generated (tgN): llama-bench's n_prompt / n_gen. */
  readonly nPrompt?: number;
  readonly nGen?: number;
}

/** What llama-bench reports about the model: "llama 7B Q4_0", bytes and parameters of the weights. */
export interface BenchModelInfo {
  readonly type: string;
  readonly sizeBytes: number;
  readonly nParams: number;
}

/** llama-bench's model description of the file at `path`. */
export async function benchModelInfo(path: string, format?: string): Promise<BenchModelInfo> {
  const src = await openModelSource(path, format ? { format: format as SourceFormat } : undefined);
  try {
    let sizeBytes = 0, nParams = 0;
    const typeCount = new Map<string, number>();
    for (const t of src.tensors) {
      sizeBytes += t.byteLength;
      const n = t.shape.reduce((a, b) => a * b, 1);
      nParams += n;
      if (t.shape.length >= 2) {
        const name = ggmlTypeInfo(t.type)?.name ?? String(t.type);
        typeCount.set(name, (typeCount.get(name) ?? 0) + n);
      }
    }
    const ft = src.metadata["general.file_type"];
    const named = Object.entries(quantizeFileTypes).find(([, v]) => v.fileType === ft)?.[0];
    const mostly = [...typeCount].sort((a, b) => b[1] - a[1])[0]?.[0];
    const ftype = (named ?? mostly ?? "?").toUpperCase();
    // llama.cpp names the size from the layer count; the parameter count says the same for LLaMA.
    const size = nParams >= 1e9 ? `${Math.round(nParams / 1e9)}B` : `${Math.max(1, Math.round(nParams / 1e6))}M`;
    return { type: `llama ${size} ${ftype}`, sizeBytes, nParams };
  } finally {
    src.close();
  }
}

interface BenchCliOptions {
  model: string;
  prompt: string;
  nGen: string;
  threads?: string;
  reps: string;
  json?: boolean;
  backend?: string;
  batch?: string;
  tokenizer?: string;
  cacheType?: string;
}

function intList(flag: string, v: string, min: number): number[] {
  const parts = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new LlamatsError(`${flag} ${v}: want a comma-separated list of integers`);
  return parts.map((p) => parseIntArg(flag, p, min));
}

/** Deterministic token ids spread over the vocabulary (as llama-bench's random prompt). */
function benchTokens(n: number, vocab: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s % vocab);
  }
  return out;
}

function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}

// forwardAsync is forward() itself on the CPU backends; the gpu backend's steps are async.
async function timePp(model: LlamaModel, tokens: number[]): Promise<number> {
  model.reset();
  const t0 = performance.now();
  await model.forwardAsync(tokens, { pos: 0 });
  return tokens.length / ((performance.now() - t0) / 1000);
}

async function timeTg(model: LlamaModel, tokens: number[]): Promise<number> {
  model.reset();
  const t0 = performance.now();
  for (let i = 0; i < tokens.length; i++) await model.forwardAsync([tokens[i]!], { pos: i });
  return tokens.length / ((performance.now() - t0) / 1000);
}

/** Run the benchmark matrix; one model load per thread count. */
export async function runBench(opts: {
  model: string; prompts: number[]; gens: number[]; threads: (number | undefined)[]; reps: number; backend?: string; batch?: number;
  tokenizer?: string; log?: (s: string) => void; cacheType?: string;
}): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const nCtx = Math.max(1, ...opts.prompts, ...opts.gens);
  for (const threads of opts.threads) {
    const model = await loadModel(opts.model, { threads, backend: opts.backend, nCtx, tokenizerPath: opts.tokenizer, cacheType: opts.cacheType, maxBatch: opts.batch ?? Math.max(1, Math.min(512, ...opts.prompts.filter((p) => p > 0).concat([512]))) });
    const nThreads = threads ?? ((model.backend as { threads?: number }).threads ?? 1);
    try {
      const vocab = model.config.vocabSize;
      const tests: [string, number, (m: LlamaModel, t: number[]) => Promise<number>][] = [
        ...opts.prompts.filter((p) => p > 0).map((p) => [`pp${p}`, p, timePp] as [string, number, typeof timePp]),
        ...opts.gens.filter((n) => n > 0).map((n) => [`tg${n}`, n, timeTg] as [string, number, typeof timeTg]),
      ];
      for (const [name, n, fn] of tests) {
        const tokens = benchTokens(n, vocab, n * 7919 + 1);
        await fn(model, tokens.slice(0, Math.min(n, 8))); // warm-up (kernels compiled, scratch allocated)
        const speeds: number[] = [];
        for (let r = 0; r < opts.reps; r++) speeds.push(await fn(model, tokens));
        const { mean, std } = meanStd(speeds);
        opts.log?.(`${name} threads=${nThreads}: ${mean.toFixed(2)} ± ${std.toFixed(2)} tok/s (${opts.backend === "gpu" ? "gpu" : model.backend.name}, cache ${model.cacheType})`);
        results.push({ test: name, threads: nThreads, tps: mean, stddev: std, nPrompt: fn === timePp ? n : 0, nGen: fn === timeTg ? n : 0 });
      }
    } finally {
      model.dispose();
    }
  }
  return results;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The --json line, spaced as issue 8's contract shows, llama-bench's keys after its four. */
export function benchJson(results: readonly BenchResult[], info?: BenchModelInfo): string {
  const items = results.map((r) => {
    const head = `"test": ${JSON.stringify(r.test)}, "threads": ${r.threads}, "tps": ${round2(r.tps)}, "stddev": ${round2(r.stddev)}`;
    if (!info) return `{${head}}`;
    const llamaBench = `"model_type": ${JSON.stringify(info.type)}, "model_size": ${info.sizeBytes}, "model_n_params": ${info.nParams}, ` +
      `"n_prompt": ${r.nPrompt ?? 0}, "n_gen": ${r.nGen ?? 0}, "n_threads": ${r.threads}, "avg_ts": ${r.tps}, "stddev_ts": ${r.stddev}`;
    return `{${head}, ${llamaBench}}`;
  });
  return `[${items.join(", ")}]`;
}

export function benchTable(model: string, backend: string, results: readonly BenchResult[]): string {
  const rows = [["model", "backend", "threads", "test", "t/s"], ...results.map((r) => [model, backend, String(r.threads), r.test, `${r.tps.toFixed(2)} ± ${r.stddev.toFixed(2)}`])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((s, c) => (c >= 2 ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join(" | ")} |`;
  const sep = `| ${widths.map((w, c) => (c >= 2 ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ")} |`;
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join("\n");
}

export function register(program: Command): void {
  program
    .command("bench")
    .description("prompt-processing and token-generation speed (llama-bench style)")
    .requiredOption("-m, --model <path>", "model file (any GGUF llama.cpp writes)")
    .option("-p, --prompt <list>", "prompt lengths to time, comma-separated (0 = none)", "512")
    .option("-n, --n-gen <list>", "generation lengths to time, comma-separated (0 = none)", "128")
    .option("--threads <list>", "thread counts, comma-separated (default: all cores)")
    .option("-r, --reps <n>", "repetitions per test", "5")
    .option("-b, --batch <n>", "tokens per prefill pass (default: the largest -p, at most 512)")
    .addOption(new Option("--backend <name>", "compute backend").choices(["ts", "wasm", "gpu", "auto"]).default("auto"))
    .addOption(cacheTypeOption())
    .option("--json", "print results as JSON (llama-bench's fields included)")
    .option("--tokenizer <path>", "tokenizer for a model without one (accepted for the other commands' sake: bench times token ids)")
    .action(async (o: BenchCliOptions) => {
      const results = await runBench({
        model: o.model,
        prompts: intList("-p", o.prompt, 0),
        gens: intList("-n", o.nGen, 0),
        threads: o.threads !== undefined ? intList("--threads", o.threads, 1) : [undefined],
        reps: parseIntArg("--reps", o.reps, 1),
        backend: o.backend,
        batch: o.batch !== undefined ? parseIntArg("--batch", o.batch, 1) : undefined,
        tokenizer: o.tokenizer,
        cacheType: o.cacheType,
        log: (s) => process.stderr.write(s + "\n"),
      });
      process.stdout.write((o.json ? benchJson(results, await benchModelInfo(o.model)) : benchTable(o.model.split("/").pop()!, o.backend ?? "auto", results)) + "\n");
    });
}
