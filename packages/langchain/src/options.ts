// Generation settings shared by the LLM and the chat model: the engine's sampling options,
// with the defaults of the seed's LangChain scripts (CHINESE-LLAMA-ALPACA.md §9). Their
// HuggingFacePipeline passed temperature 0.2 and repetition_penalty 1.1 as model_kwargs with
// do_sample left off, so the model actually decoded greedily with the penalty: temperature 0.

import type { GenerateOptions, LlamaModel } from "@llamats/engine";

export interface LlamatsModelFields {
  /** A model loaded with @llamats/engine's loadModel (the caller owns and disposes it). */
  model: LlamaModel;
  /** 0 = greedy (default, as the seed's pipeline decoded). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Default 1.1 (the seed's repetition_penalty). */
  repeatPenalty?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** New tokens at most (default 400). */
  maxTokens?: number;
  /** Sampling seed (default 0). */
  seed?: number;
}

/** Just the model fields of a constructor input (LangChain's own params stay with the base class). */
export function modelFields(input: LlamatsModelFields): LlamatsModelFields {
  const { model, temperature, topK, topP, repeatPenalty, frequencyPenalty, presencePenalty, maxTokens, seed } = input;
  return { model, temperature, topK, topP, repeatPenalty, frequencyPenalty, presencePenalty, maxTokens, seed };
}

export const SEED_PIPELINE_DEFAULTS = Object.freeze({ temperature: 0, repeatPenalty: 1.1, maxTokens: 400, seed: 0 });

/** The engine options of one call: the fields' settings plus the call's stop strings and signal. */
export function generateOptions(f: LlamatsModelFields, call: { stop?: string[]; signal?: AbortSignal }): GenerateOptions {
  return {
    temperature: f.temperature ?? SEED_PIPELINE_DEFAULTS.temperature,
    topK: f.topK,
    topP: f.topP,
    repeatPenalty: f.repeatPenalty ?? SEED_PIPELINE_DEFAULTS.repeatPenalty,
    frequencyPenalty: f.frequencyPenalty,
    presencePenalty: f.presencePenalty,
    maxTokens: f.maxTokens ?? SEED_PIPELINE_DEFAULTS.maxTokens,
    seed: f.seed ?? SEED_PIPELINE_DEFAULTS.seed,
    stop: call.stop,
    signal: call.signal,
  };
}

/**
 * The continuation of `prompt` as text pieces, on a sequence of its own (so several calls can
 * run at once, their steps batched by the engine, and none disturbs another's KV cache).
 */
export async function* generatePieces(model: LlamaModel, prompt: string, opts: GenerateOptions): AsyncGenerator<string, void, undefined> {
  const seq = model.createSequence();
  try {
    yield* seq.generate(prompt, opts);
  } finally {
    seq.dispose();
  }
}
