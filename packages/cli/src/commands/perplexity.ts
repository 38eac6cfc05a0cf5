// `llamats perplexity -m MODEL -f TEXT [--ctx-size N] [--batch N] [--chunks N] [--threads N] [--cache-type T] [--json]`
// llama.cpp's llama-perplexity (docs/EVALUATION.md): the running "[i]ppl" per chunk on
// stderr, the final estimate (or --json) on stdout. --save-logits FILE keeps the base
// log-probabilities (llama.cpp's --kl-divergence-base layout); --kl-divergence FILE compares
// this model with them (no text needed: the file holds the ids). The logic lives in
// @llamats/engine (eval/); this file parses flags and prints.

import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { loadModel, perplexity, klDivergence, LogProbReader, LogProbWriter, planPerplexity, type KlSummary, type LlamaModel } from "@llamats/engine";
import { cacheTypeOption, parseIntArg } from "./model-options.js";
import { ExitStatus } from "../exit.js";

interface PerplexityCliOptions {
  model: string;
  file?: string;
  format?: string;
  threads?: string;
  backend?: string;
  ctxSize: string;
  batch?: string;
  chunks?: string;
  json?: boolean;
  tokenIds?: boolean;
  saveLogits?: string;
  klDivergence?: string;
  cacheType?: string;
}

export function register(program: Command): void {
  program
    .command("perplexity")
    .description("perplexity of a text as llama.cpp's llama-perplexity computes it; KL-divergence against saved base log-probabilities")
    .requiredOption("-m, --model <path>", "model: GGUF file, HF or Meta folder, llama2.c .bin (with --format llama2c)")
    .option("-f, --file <text>", "text file to score (UTF-8)")
    .option("--token-ids", "the text file holds token ids (whitespace or comma separated, without BOS) instead of text")
    .option("-c, --ctx-size <n>", "tokens per chunk (llama.cpp's n_ctx)", "512")
    .option("-b, --batch <n>", "tokens per forward pass (speed and memory only; the result does not depend on it)")
    .option("--chunks <n>", "score at most this many chunks (default: all)")
    .option("--threads <n>", "worker threads")
    .option("--format <format>", "force the model format (gguf, safetensors, hf, meta, llama2c)")
    .addOption(new Option("--backend <name>", "compute backend").choices(["ts", "wasm", "gpu", "auto"]))
    .addOption(cacheTypeOption())
    .option("--save-logits <file>", "also write the base log-probabilities of every scored token to FILE (for --kl-divergence)")
    .option("--kl-divergence <file>", "compare this model with the base log-probabilities in FILE (written by --save-logits)")
    .option("--json", "print the result as JSON")
    .action(async (o: PerplexityCliOptions) => {
      const nCtx = parseIntArg("--ctx-size", o.ctxSize, 4);
      const chunks = o.chunks !== undefined ? parseIntArg("--chunks", o.chunks, 1) : undefined;
      if (o.klDivergence && o.saveLogits) throw new LlamatsError("--kl-divergence and --save-logits: choose one");
      if (!o.klDivergence && !o.file) throw new LlamatsError("perplexity: -f TEXT is required (or --kl-divergence FILE)");
      const base = o.klDivergence ? new LogProbReader(o.klDivergence) : undefined;
      try {
        const model = await loadModel(o.model, {
          format: o.format,
          threads: o.threads !== undefined ? parseIntArg("--threads", o.threads, 1) : undefined,
          backend: o.backend,
          nCtx: base ? base.nCtx : nCtx,
          maxBatch: o.batch !== undefined ? parseIntArg("--batch", o.batch, 1) : undefined,
          cacheType: o.cacheType,
        });
        try {
          if (base) await runKl(model, base, chunks, o.json === true);
          else await runPerplexity(model, o, nCtx, chunks);
        } finally {
          model.dispose();
        }
      } finally {
        base?.close();
      }
    });
}

/** BOS of the model's tokenizer; 1 (LLaMA's) for a model without one (llama2.c files). */
function bosOf(model: LlamaModel): number {
  return model.hasTokenizer ? model.tokenizer.bosId : 1;
}

function readTokens(model: LlamaModel, file: string, tokenIds: boolean): number[] {
  const text = readFileSync(file, "utf8");
  if (!tokenIds) {
    if (!model.hasTokenizer) throw new LlamatsError(`${model.path}: this model has no tokenizer; give token ids with --token-ids`);
    return model.tokenize(text, { bos: true });
  }
  const parts = text.split(/[\s,]+/).filter((p) => p !== "");
  const ids = [bosOf(model)];
  for (let i = 0; i < parts.length; i++) {
    const id = Number(parts[i]);
    if (!/^\d+$/.test(parts[i]) || id >= model.config.vocabSize) {
      throw new LlamatsError(`${file}: token ${i + 1} "${parts[i].slice(0, 20)}": want an id in 0 .. ${model.config.vocabSize - 1}`);
    }
    ids.push(id);
  }
  return ids;
}

async function runPerplexity(model: LlamaModel, o: PerplexityCliOptions, nCtx: number, chunks: number | undefined): Promise<void> {
  const tokens = readTokens(model, o.file!, o.tokenIds === true);
  const plan = planPerplexity(tokens.length, nCtx, chunks); // a short text fails here, before any work
  process.stderr.write(`perplexity: ${tokens.length} tokens, ${plan.nChunk} chunks of ${nCtx}, scoring ${plan.scoredPerChunk} per chunk\n`);
  const writer = o.saveLogits ? new LogProbWriter(o.saveLogits, nCtx, model.config.vocabSize, plan.nChunk, tokens) : undefined;
  const savedNll: number[] = [];
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  try {
    const r = await perplexity(model, tokens, {
      nCtx,
      chunks,
      bosId: bosOf(model),
      signal: abort.signal,
      onTailLogits: writer
        ? (i, tail) => savedNll.push(...writer.appendChunk(tail, tokens.slice(i * nCtx + plan.first + 1, (i + 1) * nCtx), plan.scoredPerChunk))
        : undefined,
      onChunk: (c) => process.stderr.write(`[${c.index + 1}]${c.ppl.toFixed(4)},`),
    });
    process.stderr.write("\n");
    writer?.close();
    if (writer) process.stderr.write(`perplexity: base log-probabilities written to ${o.saveLogits}\n`);
    process.stderr.write(`perplexity: ${r.seconds.toFixed(2)} s, ${r.tokensPerSecond.toFixed(1)} tokens/s\n`);
    if (o.json) {
      process.stdout.write(
        JSON.stringify({
          model: model.path,
          file: o.file,
          nCtx: r.nCtx,
          nTokens: r.nTokens,
          nChunk: r.nChunk,
          tokensScored: r.count,
          ppl: r.ppl,
          stdErr: r.stdErr,
          chunks: r.chunks,
          seconds: r.seconds,
          tokensPerSecond: r.tokensPerSecond,
        }, null, 2) + "\n",
      );
    } else {
      process.stdout.write(`Final estimate: PPL = ${r.ppl.toFixed(4)} +/- ${r.stdErr.toFixed(5)}\n`);
    }
  } catch (err) {
    writer?.abort();
    if (abort.signal.aborted) throw new ExitStatus(130); // Ctrl-C: nothing half-written is left
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

async function runKl(model: LlamaModel, base: LogProbReader, chunks: number | undefined, json: boolean): Promise<void> {
  process.stderr.write(`kl-divergence: ${base.path}: ${base.nChunk} chunks of ${base.nCtx}, vocabulary ${base.nVocab}\n`);
  process.stderr.write("chunk        PPL     ln(PPL(Q)/PPL(base))   KL divergence   same top\n");
  const s = await klDivergence(model, base, {
    bosId: bosOf(model),
    chunks,
    onChunk: (c) =>
      process.stderr.write(`${String(c.index + 1).padStart(4)} ${c.ppl.toFixed(4).padStart(10)} ${c.lnPplRatio.toFixed(5).padStart(14)} ${c.kld.toFixed(5).padStart(16)} ${(100 * c.sameTop).toFixed(3).padStart(9)} %\n`),
  });
  if (json) process.stdout.write(JSON.stringify({ model: model.path, base: base.path, ...s }, null, 2) + "\n");
  else process.stdout.write(klText(s));
}

function klText(s: KlSummary): string {
  const ve = (v: { value: number; error: number }, d = 6) => `${v.value.toFixed(d)} ± ${v.error.toFixed(d)}`;
  const pct = (v: { value: number; error: number }) => `${(100 * v.value).toFixed(3)} ± ${(100 * v.error).toFixed(3)} %`;
  return [
    `chunks: ${s.nChunk} of ${s.nCtx}, tokens scored: ${s.count}`,
    `Mean PPL(Q)                   : ${ve(s.pplQ)}`,
    `Mean PPL(base)                : ${ve(s.pplBase)}`,
    `Cor(ln(PPL(Q)), ln(PPL(base))): ${(100 * s.lnPplCorrelation).toFixed(2)}%`,
    `Mean ln(PPL(Q)/PPL(base))     : ${ve(s.lnPplRatio)}`,
    `Mean PPL(Q)/PPL(base)         : ${ve(s.pplRatio)}`,
    `Mean PPL(Q)-PPL(base)         : ${ve(s.pplDiff)}`,
    `Mean    KLD: ${ve(s.kld)}`,
    `Maximum KLD: ${s.kld.max.toFixed(6)}`,
    `99.0%   KLD: ${s.kld.p99.toFixed(6)}`,
    `Median  KLD: ${s.kld.median.toFixed(6)}`,
    `Minimum KLD: ${s.kld.min.toFixed(6)}`,
    `Mean    Δp: ${pct(s.pDiff)}`,
    `RMS Δp    : ${pct(s.pDiffRms)}`,
    `Same top p: ${pct(s.sameTop)}`,
    "",
  ].join("\n");
}
