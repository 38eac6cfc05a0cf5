// One choice of a completion: take a slot, generate on its sequence, and report text pieces
// (with the tokens behind them when logprobs are asked) and how it finished. Streaming and
// non-streaming replies, completions and chat, all go through here.

import type { GenerateOptions, LlamaModel, Sequence, StopReason } from "@llamats/engine";
import { tokenLogprob, type TokenLogprob } from "./logprobs.js";
import type { SlotPool } from "./slots.js";

export interface ChoiceSpec {
  readonly index: number;
  readonly promptIds: readonly number[];
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly repeatPenalty: number;
  readonly seed: number;
  readonly stop: readonly string[];
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  /** token id -> bias added to its logit. */
  readonly logitBias: ReadonlyMap<number, number>;
  /** Top alternatives per token; undefined: no logprobs. */
  readonly logprobs?: number;
  /** Drop whitespace before the first visible character (chat replies, as the seed's strip()). */
  readonly trimStart: boolean;
}



export type FinishReason = "stop" | "length";

export interface ChoiceResult {
  readonly index: number;
  text: string;
  /** Generated ids (EOS excluded). */
  tokenIds: number[];
  tokens: TokenLogprob[];
  completionTokens: number;
  finishReason: FinishReason | undefined;
  stopReason: StopReason | undefined;
}

export interface ChoiceSink {
  /** A piece of text, the ids completed with it and their logprobs (empty unless asked). */
  piece(index: number, text: string, tokens: TokenLogprob[], ids: number[]): void;
}

export interface RunContext {
  readonly model: LlamaModel;
  readonly pool: SlotPool;
  readonly signal: AbortSignal;
  /** Generated tokens, for the metrics. */
  readonly onTokens?: (n: number) => void;
}

/**
 * Generate one choice on a free slot. `before` runs on the slot's sequence first (the echo
 * of completions evaluates the prompt's logprobs there).
 */
export async function runChoice(ctx: RunContext, spec: ChoiceSpec, sink: ChoiceSink, before?: (seq: Sequence) => Promise<void>): Promise<ChoiceResult> {
  const result: ChoiceResult = { index: spec.index, text: "", tokenIds: [], tokens: [], completionTokens: 0, finishReason: undefined, stopReason: undefined };
  const slot = await ctx.pool.acquire(spec.promptIds, ctx.signal);
  try {
    if (before) await before(slot.seq);
    const tok = ctx.model.hasTokenizer ? ctx.model.tokenizer : undefined;
    let pendingTokens: TokenLogprob[] = [];
    let pendingIds: number[] = [];
    let started = !spec.trimStart;
    const opts: GenerateOptions = {
      promptIds: spec.promptIds,
      maxTokens: spec.maxTokens,
      temperature: spec.temperature,
      topK: spec.topK,
      topP: spec.topP,
      repeatPenalty: spec.repeatPenalty,
      seed: spec.seed,
      stop: spec.stop,
      signal: ctx.signal,
      // OpenAI's penalties, llama.cpp's way: over every id of the sequence (prompt included).
      frequencyPenalty: spec.frequencyPenalty,
      presencePenalty: spec.presencePenalty,
      penaltyLastN: -1,
      logitsProcessor: spec.logitBias.size ? (logits) => {
        for (const [id, bias] of spec.logitBias) logits[id] += bias;
      } : undefined,
      onToken: (id, logits) => {
        if (tok && id === tok.eosId) return;
        result.completionTokens++;
        result.tokenIds.push(id);
        pendingIds.push(id);
        ctx.onTokens?.(1);
        if (spec.logprobs !== undefined) pendingTokens.push(tokenLogprob(tok, logits, id, spec.logprobs));
      },
    };
    // Without a tokenizer (llama2.c files) the choice is ids only: no text, no stop strings, no EOS.
    const pieces = tok ? slot.seq.generate("", opts) : idPieces(slot.seq.generateIds(spec.promptIds, { ...opts, eosId: undefined }));
    for await (let text of pieces) {
      if (!started) {
        text = text.trimStart();
        if (text === "") continue;
        started = true;
      }
      result.text += text;
      result.tokens.push(...pendingTokens);
      sink.piece(spec.index, text, pendingTokens, pendingIds);
      pendingTokens = [];
      pendingIds = [];
    }
    if (pendingIds.length) {
      // Tokens whose text never showed (a stop string, trailing whitespace): still reported.
      result.tokens.push(...pendingTokens);
      sink.piece(spec.index, "", pendingTokens, pendingIds);
    }
    const reason = slot.seq.lastStats?.stopReason;
    result.stopReason = reason;
    result.finishReason = reason === "eos" || reason === "stop-string" ? "stop" : reason === "aborted" ? undefined : "length";
    return result;
  } finally {
    ctx.pool.release(slot);
  }
}

async function* idPieces(ids: AsyncGenerator<number, void, undefined>): AsyncGenerator<string, void, undefined> {
  for await (const _id of ids) yield "";
}
