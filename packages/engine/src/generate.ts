// The streaming generation loop, written against two small interfaces so it can be tested
// without a model file: a text codec (the tokenizer) and a logits runner (forward pass + KV
// cache). Prefill evaluates the prompt in one batched call, then one token per step; every
// step yields to the event loop, so an AbortSignal (or Ctrl-C) is seen between tokens. The
// runner may answer asynchronously (a Sequence's runner goes through the model's batch
// scheduler, which evaluates the steps of all running sequences together).
// Pieces come from a streaming decoder (never half a UTF-8 character) through the stop-string
// matcher (never a part of a stop string).

import { LlamatsError } from "@llamats/tensor";
import { Sampler, type SamplingOptions } from "./sampling/index.js";
import { EvalAbortedError } from "./scheduler.js";
import { StopStringMatcher } from "./stop.js";

export interface StreamDecoder {
  /** Text that became complete with this id (may be ""). */
  push(id: number): string;
  /** End of stream: what is left (incomplete UTF-8 as U+FFFD). */
  flush(): string;
}

export interface TextCodec {
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string, opts: { bos: boolean }): number[];
  decode(ids: readonly number[]): string;
  /** A fresh streaming decoder; afterText: the stream continues visible prompt text. */
  streamDecoder(afterText: boolean): StreamDecoder;
}

export interface LogitsRunner {
  readonly vocabSize: number;
  /** KV cache capacity in tokens. */
  readonly nCtx: number;
  /**
   * Evaluate tokens at positions pos.. (KV rows pos.. are overwritten); logits (vocab,) of the
   * last one, a copy. An asynchronous runner rejects with EvalAbortedError when `signal` fires
   * before it is done.
   */
  evalLast(tokens: readonly number[], pos: number, signal?: AbortSignal): Float32Array | Promise<Float32Array>;
}

export interface GenerateOptions extends SamplingOptions {
  /** New tokens at most (default 400, inference_hf.py's max_new_tokens). */
  readonly maxTokens?: number;
  /** Generation ends before the first occurrence of any of these strings. */
  readonly stop?: readonly string[];
  readonly signal?: AbortSignal;
  /** Prepend BOS to the prompt (default true, as SentencePiece-LLaMA models expect). */
  readonly bos?: boolean;
  /** Pass prompt ids instead of text (prompt then ignored). */
  readonly promptIds?: readonly number[];
  /**
   * Edits the logits in place before sampling (e.g. OpenAI's frequency / presence penalties),
   * given every id of the sequence so far and the prompt length.
   */
  readonly logitsProcessor?: (logits: Float32Array, ids: readonly number[], promptTokens: number) => void;
  /** Sees each sampled id (EOS included) with the logits it was drawn from (after logitsProcessor). */
  readonly onToken?: (id: number, logits: Float32Array) => void;
}

export type StopReason = "eos" | "max-tokens" | "stop-string" | "context-full" | "aborted";

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens actually evaluated (the rest reused from the KV cache). */
  promptTokensEvaluated: number;
  promptMs: number;
  generatedTokens: number;
  generateMs: number;
  /** Tokens per second; NaN when no time was measured. */
  promptTokPerSec: number;
  genTokPerSec: number;
  stopReason: StopReason;
  /** Every id of the sequence (prompt + generated), EOS excluded. */
  ids: number[];
}

export const DEFAULT_MAX_TOKENS = 400;

/**
 * Tokens already in the KV cache (`cached`) are reused for the longest common prefix with the
 * new prompt; at least the last prompt token is always evaluated (its logits are needed).
 */
export function reusablePrefix(cached: readonly number[], prompt: readonly number[]): number {
  let n = 0;
  const max = Math.min(cached.length, prompt.length - 1);
  while (n < max && cached[n] === prompt[n]) n++;
  return n;
}

export interface GenerationSession {
  /** Ids currently in the KV cache, in order. Updated as generation proceeds. */
  cached: number[];
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function newStats(ids: number[]): GenerationStats {
  return {
    promptTokens: ids.length, promptTokensEvaluated: 0, promptMs: 0, generatedTokens: 0, generateMs: 0,
    // Until the loop ends by itself: a consumer that stops iterating early counts as aborted.
    promptTokPerSec: NaN, genTokPerSec: NaN, stopReason: "aborted", ids,
  };
}

function finishStats(stats: GenerationStats): GenerationStats {
  stats.promptTokPerSec = stats.promptMs > 0 ? (stats.promptTokensEvaluated * 1000) / stats.promptMs : NaN;
  stats.genTokPerSec = stats.generateMs > 0 ? (stats.generatedTokens * 1000) / stats.generateMs : NaN;
  return stats;
}

/**
 * The token loop: prefill `stats.ids` (reusing the cached prefix), then sample and yield one
 * id per step until EOS (not yielded), maxTokens, a full context or the signal. `stats` is
 * updated in place (ids grow with every yielded id; stopReason is set when the loop itself
 * ends; a consumer that stops early sets its own).
 */
export async function* generateTokens(
  runner: LogitsRunner,
  session: GenerationSession,
  opts: GenerateOptions,
  eosId: number | undefined,
  stats: GenerationStats,
): AsyncGenerator<number, void, undefined> {
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new LlamatsError(`max tokens ${maxTokens}: want an integer >= 0`);
  const sampler = new Sampler(opts);
  const ids = stats.ids;
  if (ids.length === 0) throw new LlamatsError("empty prompt: nothing to condition on (use bos: true)");
  if (ids.length >= runner.nCtx) throw new LlamatsError(`prompt of ${ids.length} tokens does not fit the context of ${runner.nCtx}`);
  if (opts.signal?.aborted) {
    stats.stopReason = "aborted";
    return;
  }
  const reuse = reusablePrefix(session.cached, ids);
  session.cached = ids.slice(0, reuse); // rows past `reuse` are stale and get overwritten
  let t = performance.now();
  let logits: Float32Array;
  try {
    logits = await runner.evalLast(ids.slice(reuse), reuse, opts.signal);
  } catch (err) {
    if (!(err instanceof EvalAbortedError)) throw err;
    stats.stopReason = "aborted";
    return;
  }
  session.cached = ids.slice();
  stats.promptTokensEvaluated = ids.length - reuse;
  stats.promptMs = performance.now() - t;
  const promptTokens = ids.length;

  t = performance.now();
  try {
    for (let i = 0; i < maxTokens; i++) {
      if (opts.signal?.aborted) {
        stats.stopReason = "aborted";
        return;
      }
      opts.logitsProcessor?.(logits, ids, promptTokens);
      const id = sampler.sample(logits, ids);
      opts.onToken?.(id, logits);
      if (id === eosId) {
        stats.stopReason = "eos";
        return;
      }
      ids.push(id);
      stats.generatedTokens++;
      yield id;
      if (i + 1 === maxTokens) break; // no need to evaluate a token nobody samples from
      if (ids.length >= runner.nCtx) {
        stats.stopReason = "context-full";
        return;
      }
      try {
        logits = await runner.evalLast([id], ids.length - 1, opts.signal);
      } catch (err) {
        if (!(err instanceof EvalAbortedError)) throw err;
        session.cached = ids.slice(0, -1); // the last id may not be in the cache
        stats.stopReason = "aborted";
        return;
      }
      session.cached.push(id);
      await tick();
    }
    stats.stopReason = "max-tokens";
  } finally {
    stats.generateMs = performance.now() - t;
  }
}

/** Token ids of a generation, for models without a tokenizer (llama2.c) or id-level research. */
export async function* generateIdStream(
  runner: LogitsRunner,
  session: GenerationSession,
  promptIds: readonly number[],
  opts: GenerateOptions & { eosId?: number },
  statsOut: (s: GenerationStats) => void,
): AsyncGenerator<number, void, undefined> {
  const stats = newStats([...promptIds]);
  try {
    yield* generateTokens(runner, session, opts, opts.eosId, stats);
  } finally {
    statsOut(finishStats(stats));
  }
}

export async function* generateText(
  codec: TextCodec,
  runner: LogitsRunner,
  session: GenerationSession,
  prompt: string,
  opts: GenerateOptions,
  statsOut: (s: GenerationStats) => void,
): AsyncGenerator<string, void, undefined> {
  const ids = opts.promptIds ? [...opts.promptIds] : codec.encode(prompt, { bos: opts.bos ?? true });
  const stats = newStats(ids);
  const decoder = codec.streamDecoder(ids.some((id) => id !== codec.bosId));
  const stops = new StopStringMatcher(opts.stop ?? []);
  try {
    for await (const id of generateTokens(runner, session, opts, codec.eosId, stats)) {
      const text = stops.push(decoder.push(id));
      if (text) yield text;
      if (stops.isStopped) {
        stats.stopReason = "stop-string";
        return;
      }
    }
    const rest = stops.push(decoder.flush()) + stops.flush();
    if (rest) yield rest;
  } finally {
    statsOut(finishStats(stats));
  }
}
