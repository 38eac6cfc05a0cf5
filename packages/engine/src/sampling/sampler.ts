// The sampler: HF's processing chain (repetition penalty -> temperature -> top-k -> top-p ->
// multinomial draw) with a seeded PRNG, or greedy argmax (after the penalties) when the
// temperature is 0. llama.cpp's frequency / presence penalties and its penalty window
// (repeat_last_n) join the repetition penalty in the first step, as in llama.cpp's chain.
// One Sampler per generation; it owns its PRNG state.

import { LlamatsError } from "@llamats/tensor";
import { Rng } from "./rng.js";
import { applyFrequencyPresencePenalty, applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP, argmax, penaltyWindow, softmax } from "./steps.js";

export interface SamplingOptions {
  /** 0 = greedy. inference_hf.py's default is 0.2. */
  readonly temperature?: number;
  /** <= 0 disables. Default 40. */
  readonly topK?: number;
  /** >= 1 disables. Default 0.9. */
  readonly topP?: number;
  /** 1 disables. Default 1.1. */
  readonly repeatPenalty?: number;
  /** llama.cpp / OpenAI: minus count * f for every id in the penalty window. Default 0. */
  readonly frequencyPenalty?: number;
  /** llama.cpp / OpenAI: minus p for every id present in the penalty window. Default 0. */
  readonly presencePenalty?: number;
  /**
   * How many of the last ids (prompt and generated) the penalties look at: -1 (default) the
   * whole sequence, as HF's repetition penalty does; 0 none; llama.cpp's default is 64.
   */
  readonly penaltyLastN?: number;
  /** PRNG seed. Default 0 (deterministic unless the caller passes something else). */
  readonly seed?: number;
}

/** inference_hf.py's generation_config (CHINESE-LLAMA-ALPACA.md §4). */
export const DEFAULT_SAMPLING = Object.freeze({
  temperature: 0.2,
  topK: 40,
  topP: 0.9,
  repeatPenalty: 1.1,
  frequencyPenalty: 0,
  presencePenalty: 0,
  penaltyLastN: -1,
  seed: 0,
});

export function validateSampling(o: SamplingOptions): Required<SamplingOptions> {
  const r = { ...DEFAULT_SAMPLING, ...stripUndefined(o) };
  const bad = (what: string) => new LlamatsError(`invalid sampling option: ${what}`);
  if (!(r.temperature >= 0) || !Number.isFinite(r.temperature)) throw bad(`temperature ${r.temperature} (want >= 0)`);
  if (!Number.isInteger(r.topK)) throw bad(`top-k ${r.topK} (want an integer)`);
  if (!(r.topP > 0 && r.topP <= 1)) throw bad(`top-p ${r.topP} (want 0 < p <= 1)`);
  if (!(r.repeatPenalty > 0) || !Number.isFinite(r.repeatPenalty)) throw bad(`repeat penalty ${r.repeatPenalty} (want > 0)`);
  if (!Number.isFinite(r.frequencyPenalty)) throw bad(`frequency penalty ${r.frequencyPenalty} (want a number)`);
  if (!Number.isFinite(r.presencePenalty)) throw bad(`presence penalty ${r.presencePenalty} (want a number)`);
  if (!Number.isInteger(r.penaltyLastN) || r.penaltyLastN < -1) throw bad(`penalty window ${r.penaltyLastN} (want an integer >= -1)`);
  if (!Number.isFinite(r.seed)) throw bad(`seed ${r.seed}`);
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class Sampler {
  readonly options: Required<SamplingOptions>;
  private readonly rng: Rng;

  constructor(options: SamplingOptions = {}) {
    this.options = validateSampling(options);
    this.rng = new Rng(this.options.seed);
  }

  /**
   * The processed scores (vocab,) HF would hand to the draw; -Infinity = removed. `history`
   * is every id of the sequence so far: the prompt's and the generated ones.
   */
  process(logits: Float32Array, history: ArrayLike<number>): Float32Array {
    const scores = Float32Array.from(logits);
    const o = this.options;
    const window = penaltyWindow(history, o.penaltyLastN);
    applyRepetitionPenalty(scores, window, o.repeatPenalty);
    applyFrequencyPresencePenalty(scores, window, o.frequencyPenalty, o.presencePenalty);
    if (o.temperature === 0) return scores;
    applyTemperature(scores, o.temperature);
    applyTopK(scores, o.topK);
    applyTopP(scores, o.topP);
    return scores;
  }

  /** Next token id for these logits, given every id of the sequence so far. */
  sample(logits: Float32Array, history: ArrayLike<number>): number {
    const scores = this.process(logits, history);
    if (this.options.temperature === 0) return argmax(scores);
    return drawFrom(softmax(scores), this.rng.nextFloat());
  }
}

/** Inverse-CDF draw: the first id whose cumulative probability exceeds u (u in [0, 1)). */
export function drawFrom(probs: Float64Array, u: number): number {
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding left u >= cum: the last candidate
}
