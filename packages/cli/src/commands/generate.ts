// `llamats generate`: the inference_hf.py workflow (CHINESE-LLAMA-ALPACA.md §4).
//   -p TEXT | -f FILE   stream the continuation to stdout, a speed line to stderr;
//   --ids 1,5,9         the prompt as token ids (BOS included if wanted; for models without a
//                       tokenizer, e.g. llama2.c): the new ids stream to stdout, comma-separated
//                       on one line (the form --ids and detokenize take);
//   --with-prompt       wrap the text in the Alpaca template first;
//   --json              JSON lines instead of text: {"text": piece} (or {"id": n} with --ids)
//                       per token as it is generated, then one {"done": true, "stop", "ids"
//                       (generated), "prompt_tokens", "generated_tokens", "prompt_tok_per_s",
//                       "gen_tok_per_s", "seed"} line; the speed line stays on stderr;
//   --data-file FILE    batch mode: one instruction per line (stripped; blank lines skipped),
//                       predictions JSON [{"Input", "Output"}] (indent 2, UTF-8 as is) and
//                       generation_config.json next to it. Output is the decoded sequence
//                       (prompt included, as the script's decode(s) does), or with
//                       --with-prompt the text after "### Response:", stripped.
//                       Fixed quirk: a --predictions-file without a folder part works.
// Defaults are the script's generation_config: temp 0.2, top-k 40, top-p 0.9, repetition
// penalty 1.1, 400 new tokens; the seed is random unless --seed is given (stderr shows it).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { LlamatsError, writeFileAtomic } from "@llamats/tensor";
import { alpacaPrompt, extractResponse, loadModel, DEFAULT_SAMPLING, DEFAULT_MAX_TOKENS, type LlamaModel, type GenerateOptions, type GenerationStats } from "@llamats/engine";
import { addModelOptions, addSamplingOptions, loadOptionsFrom, samplingFrom, type ModelCliOptions, type SamplingCliOptions } from "./model-options.js";
import { onStdoutClosed } from "../stdout.js";
import { idsFrom } from "../ids.js";

interface GenerateCliOptions extends ModelCliOptions, SamplingCliOptions {
  prompt?: string;
  ids?: string;
  file?: string;
  withPrompt?: boolean;
  dataFile?: string;
  predictionsFile: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("generate")
    .description("generate text from a prompt (streams to stdout; speed on stderr)")
    .option("-p, --prompt <text>", "prompt text")
    .option("-f, --file <file>", "read the prompt from a file")
    .option("--ids <ids>", "the prompt as comma-separated token ids (prints the new ids; \"-\": from stdin)")
    .option("--with-prompt", "wrap the prompt in the Alpaca instruction template")
    .option("--data-file <file>", "batch mode: one instruction per line")
    .option("--predictions-file <file>", "batch mode output", "./predictions.json")
    .option("--json", 'JSON lines: {"text": piece} (or {"id": n}) per token, then a {"done": true, ...} summary');
  addModelOptions(cmd);
  addSamplingOptions(cmd, { temp: DEFAULT_SAMPLING.temperature, maxTokens: DEFAULT_MAX_TOKENS });
  cmd.action(async (o: GenerateCliOptions) => {
    const sources = [o.prompt !== undefined, o.file !== undefined, o.dataFile !== undefined, o.ids !== undefined].filter(Boolean).length;
    if (sources !== 1) throw new LlamatsError("generate: give exactly one of -p TEXT, -f FILE, --ids IDS or --data-file FILE");
    if (o.json && o.dataFile !== undefined) throw new LlamatsError("generate: --json applies to -p, -f and --ids (--data-file writes its own JSON)");
    const sampling = samplingFrom(o);
    const promptIds = idsFrom({ ids: o.ids });
    const model = await loadModel(o.model, loadOptionsFrom(o));
    try {
      if (promptIds) await streamIds(model, promptIds, sampling, Boolean(o.json));
      else if (o.dataFile !== undefined) await batch(model, o, sampling);
      else {
        const text = o.prompt ?? readText(o.file!);
        await streamOne(model, o.withPrompt ? alpacaPrompt(text) : text, sampling, Boolean(o.json));
      }
    } finally {
      model.dispose();
    }
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new LlamatsError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Ctrl-C stops the generation (the text so far and the speed line are still printed), and so
 * does a closed stdout (`llamats generate ... | head`: EPIPE) instead of crashing.
 */
export function abortOnSigint(): { signal: AbortSignal; release(): void } {
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once("SIGINT", onSig);
  const offClosed = onStdoutClosed(() => ac.abort()); // later writes to the closed pipe are dropped quietly
  return {
    signal: ac.signal,
    release: () => {
      process.off("SIGINT", onSig);
      offClosed();
    },
  };
}

async function streamOne(model: LlamaModel, prompt: string, sampling: GenerateOptions, json: boolean): Promise<void> {
  const sig = abortOnSigint();
  let last = "";
  try {
    for await (const piece of model.generate(prompt, { ...sampling, signal: sig.signal })) {
      process.stdout.write(json ? JSON.stringify({ text: piece }) + "\n" : piece);
      last = piece;
    }
  } finally {
    sig.release();
  }
  if (json) process.stdout.write(doneLine(model.lastStats, sampling.seed));
  else if (!last.endsWith("\n")) process.stdout.write("\n");
  process.stderr.write(speedLine(model.lastStats, sampling.seed) + "\n");
}

/** --json's last line: how the generation ended, its ids and speeds (NaN speeds as null). */
function doneLine(s: GenerationStats | undefined, seed?: number): string {
  if (!s) return JSON.stringify({ done: true }) + "\n";
  return JSON.stringify({
    done: true, stop: s.stopReason, ids: s.ids.slice(s.promptTokens), prompt_tokens: s.promptTokens, generated_tokens: s.generatedTokens,
    prompt_tok_per_s: s.promptTokPerSec, gen_tok_per_s: s.genTokPerSec, seed,
  }) + "\n";
}

async function streamIds(model: LlamaModel, promptIds: number[], sampling: GenerateOptions, json: boolean): Promise<void> {
  const bad = promptIds.find((id) => id >= model.config.vocabSize);
  if (bad !== undefined) throw new LlamatsError(`--ids: id ${bad} is outside the vocabulary (${model.config.vocabSize})`);
  const sig = abortOnSigint();
  let n = 0;
  try {
    for await (const id of model.generateIds(promptIds, { ...sampling, signal: sig.signal })) {
      process.stdout.write(json ? JSON.stringify({ id }) + "\n" : `${n++ ? "," : ""}${id}`);
    }
  } finally {
    sig.release();
  }
  process.stdout.write(json ? doneLine(model.lastStats, sampling.seed) : "\n");
  process.stderr.write(speedLine(model.lastStats, sampling.seed) + "\n");
}

export function speedLine(s: GenerationStats | undefined, seed?: number): string {
  if (!s) return "";
  const rate = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");
  return `prompt: ${s.promptTokensEvaluated} tokens, ${rate(s.promptTokPerSec)} tok/s | generation: ${s.generatedTokens} tokens, ${rate(s.genTokPerSec)} tok/s | stop: ${s.stopReason}${seed !== undefined ? ` | seed ${seed}` : ""}`;
}

async function batch(model: LlamaModel, o: GenerateCliOptions, sampling: GenerateOptions): Promise<void> {
  const examples = readText(o.dataFile!).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  const results: { Input: string; Output: string }[] = [];
  for (const [i, example] of examples.entries()) {
    const input = o.withPrompt ? alpacaPrompt(example) : example;
    model.reset();
    for await (const _piece of model.generate(input, sampling)); // eslint-disable-line no-empty
    // decode(full sequence) as the script does: prompt and continuation, specials skipped.
    const full = model.detokenize(model.lastStats?.ids ?? []);
    const output = o.withPrompt ? extractResponse(full) : full;
    results.push({ Input: input, Output: output });
    process.stderr.write(`[${i + 1}/${examples.length}] ${speedLine(model.lastStats, sampling.seed)}\n`);
  }
  const out = o.predictionsFile;
  const dir = dirname(out) || ".";
  writeFileAtomic(out, JSON.stringify(results, null, 2)); // missing folders are created, as the script's makedirs
  const config = {
    // transformers samples only with do_sample; temperature 0 here means greedy decoding.
    temperature: sampling.temperature, top_k: sampling.topK, top_p: sampling.topP, do_sample: (sampling.temperature ?? 0) > 0,
    num_beams: 1, repetition_penalty: sampling.repeatPenalty, max_new_tokens: sampling.maxTokens,
  };
  writeFileAtomic(join(dir, "generation_config.json"), JSON.stringify(config, null, 2));
  process.stderr.write(`wrote ${results.length} predictions to ${out}\n`);
}
