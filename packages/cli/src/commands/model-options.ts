// Options shared by the commands that load a model (generate, chat, logits, demo): the model
// path and how to load it, plus small argument parsers that turn bad values into a
// LlamatsError (one line, exit 2).

import { Command, Option } from "commander";
import { KV_CACHE_TYPES, LlamatsError } from "@llamats/tensor";
import { DEFAULT_CACHE_TYPE, validateSampling, type GenerateOptions, type LoadModelOptions, type LoraSpec } from "@llamats/engine";
import type { Progress } from "@llamats/tensor";
import { ProgressBar } from "../progress.js";

export interface ModelCliOptions {
  model: string;
  format?: string;
  lora?: string[];
  loraScaled?: string[];
  tokenizer?: string;
  alpha?: string;
  threads?: string;
  backend?: string;
  ctx?: string;
  cacheType?: string;
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption("-m, --model <path>", "model: GGUF file, HF or Meta folder, llama2.c .bin (with --format llama2c)")
    .option("--format <format>", "force the model format (gguf, safetensors, hf, meta, llama2c)")
    .option("--lora <dir>", "PEFT LoRA adapter folder applied at load, without merging (repeatable)", collect, [])
    .option("--lora-scaled <dir scale...>", "as --lora, its deltas times SCALE (llama.cpp's --lora-scaled FNAME SCALE; repeatable)")
    .option("--tokenizer <path>", "tokenizer for a model without one (or to replace its own): SentencePiece .model, GGUF, or llama2.c tokenizer.bin")
    .option("--alpha <a>", 'NTK RoPE scaling: a number (1 = none) or "auto"')
    .option("--threads <n>", "worker threads")
    .addOption(new Option("--backend <name>", "compute backend").choices(["ts", "wasm", "gpu", "auto"]))
    .option("--ctx <n>", "context size in tokens (default: the model's, at most 2048)")
    .addOption(cacheTypeOption());
}

/** --cache-type: the KV cache's storage type (every command that runs the model has it). */
export function cacheTypeOption(): Option {
  return new Option("--cache-type <type>", `KV cache storage: f32, f16 (half the memory) or q8_0 (ggml blocks, ~0.27x) (default ${DEFAULT_CACHE_TYPE})`)
    .choices(KV_CACHE_TYPES as string[]);
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function parseIntArg(flag: string, v: string | undefined, min: number): number {
  if (v === undefined) return NaN;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new LlamatsError(`${flag} ${v}: want an integer >= ${min}`);
  return n;
}

export function parseFloatArg(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new LlamatsError(`${flag} ${v}: want a number`);
  return n;
}

export function loadOptionsFrom(o: ModelCliOptions): LoadModelOptions {
  let alpha: number | "auto" | undefined;
  if (o.alpha !== undefined) alpha = o.alpha === "auto" ? "auto" : parseFloatArg("--alpha", o.alpha);
  if (typeof alpha === "number" && !(alpha > 0)) throw new LlamatsError(`--alpha ${o.alpha}: want a positive number or "auto"`);
  return {
    format: o.format,
    lora: loraSpecs(o),
    tokenizerPath: o.tokenizer,
    alpha,
    threads: o.threads !== undefined ? parseIntArg("--threads", o.threads, 1) : undefined,
    backend: o.backend,
    nCtx: o.ctx !== undefined ? parseIntArg("--ctx", o.ctx, 1) : undefined,
    cacheType: o.cacheType,
    onProgress: loadingBar(),
  };
}

/** --lora DIR (scale 1) and --lora-scaled DIR SCALE pairs, in the order given per flag. */
function loraSpecs(o: ModelCliOptions): LoraSpec[] | undefined {
  const specs: LoraSpec[] = (o.lora ?? []).map((path) => ({ path, scale: 1 }));
  const scaled = o.loraScaled ?? [];
  if (scaled.length % 2 !== 0) throw new LlamatsError(`--lora-scaled ${scaled.join(" ")}: want pairs of adapter folder and scale`);
  for (let i = 0; i < scaled.length; i += 2) specs.push({ path: scaled[i]!, scale: parseFloatArg("--lora-scaled scale", scaled[i + 1])! });
  return specs.length ? specs : undefined;
}

/** A "loading" progress bar on stderr, drawn only for models above 256 MiB (small ones load at once). */
function loadingBar(): (p: Progress) => void {
  let bar: ProgressBar | undefined;
  return (p) => {
    if (p.total < 256 * 2 ** 20) return;
    bar ??= new ProgressBar("loading");
    bar.update(p);
    if (p.done >= p.total) bar.done();
  };
}

export interface SamplingCliOptions {
  nPredict: string;
  temp: string;
  topK: string;
  topP: string;
  repeatPenalty: string;
  frequencyPenalty?: string;
  presencePenalty?: string;
  repeatLastN?: string;
  seed?: string;
}

/** Sampling flags with the given defaults (generate: inference_hf.py's; chat: the gradio demo's). */
export function addSamplingOptions(cmd: Command, d: { temp: number; maxTokens: number; topK?: number; topP?: number; repeat?: number }): Command {
  return cmd
    .option("-n, --n-predict <n>", "new tokens at most", String(d.maxTokens))
    .option("--temp <t>", "temperature (0 = greedy)", String(d.temp))
    .option("--top-k <k>", "top-k (0 = off)", String(d.topK ?? 40))
    .option("--top-p <p>", "top-p (1 = off)", String(d.topP ?? 0.9))
    .option("--repeat-penalty <p>", "repetition penalty (1 = off)", String(d.repeat ?? 1.1))
    .option("--frequency-penalty <f>", "llama.cpp/OpenAI frequency penalty: minus count * f (0 = off)", "0")
    .option("--presence-penalty <p>", "llama.cpp/OpenAI presence penalty: minus p once present (0 = off)", "0")
    .option("--repeat-last-n <n>", "ids the penalties look at: the last n (-1 = the whole sequence, as HF; 0 = none)", "-1")
    .option("--seed <n>", "sampling seed (default: random)");
}

export function samplingFrom(o: SamplingCliOptions): GenerateOptions & { seed: number; maxTokens: number; temperature: number; topK: number; topP: number; repeatPenalty: number; frequencyPenalty: number; presencePenalty: number; penaltyLastN: number } {
  const seed = o.seed !== undefined ? parseIntArg("--seed", o.seed, 0) : Math.floor(Math.random() * 2 ** 32);
  const r = {
    maxTokens: parseIntArg("-n", o.nPredict, 0),
    temperature: parseFloatArg("--temp", o.temp)!,
    topK: parseIntArg("--top-k", o.topK, 0),
    topP: parseFloatArg("--top-p", o.topP)!,
    repeatPenalty: parseFloatArg("--repeat-penalty", o.repeatPenalty)!,
    frequencyPenalty: parseFloatArg("--frequency-penalty", o.frequencyPenalty) ?? 0,
    presencePenalty: parseFloatArg("--presence-penalty", o.presencePenalty) ?? 0,
    penaltyLastN: o.repeatLastN !== undefined ? parseIntArg("--repeat-last-n", o.repeatLastN, -1) : -1,
    seed,
  };
  validateSampling(r);
  return r;
}
