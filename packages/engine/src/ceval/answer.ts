// Answering one C-Eval question, the seed's two ways.
// Constrained (default): the model sees the prompt (BOS first) and the next-token logits of
// its last token are processed as HF's generate processes them with the seed's config
// (repetition penalty 1.1 over the prompt ids, then divided by the temperature; top-k 0 and
// top-p 1 add no step): "scores[0]". The answer is
//   argmax_X ( score[id("▁X")] + score[id("X")] ),   X in A..D, the first on a tie (numpy),
// with id("▁X") = encode("X")[0] (no BOS) and id("X") = encode("：X", BOS)[-1], the sum in
// float32 as torch adds. The "response" is the decoded argmax token of the whole vocabulary.
// Free generation (--generate): up to 20 new tokens with temperature T, top-k 40, top-p 0.9,
// repetition penalty 1.1, decoded without special tokens, then extractAnswer's rules.

import { LlamatsError } from "@llamats/tensor";
import { applyRepetitionPenalty, applyTemperature, argmax } from "../sampling/index.js";
import { CHOICES, type Choice } from "./prompt.js";

export interface ChoiceIds {
  /** id("▁X") for A..D. */
  readonly spaced: readonly number[];
  /** id("X") (no leading space) for A..D. */
  readonly bare: readonly number[];
}

export function choiceIds(encode: (text: string, bos: boolean) => number[]): ChoiceIds {
  return {
    spaced: CHOICES.map((c) => encode(c, false)[0]),
    bare: CHOICES.map((c) => encode(`：${c}`, true).at(-1)!),
  };
}

/** HF's processed scores for the first new token: penalty over the prompt ids, then / T. */
export function processedScores(lastLogits: Float32Array, promptIds: readonly number[], temperature: number, repetitionPenalty = 1.1): Float32Array {
  if (!(temperature > 0)) throw new LlamatsError(`C-Eval: temperature ${temperature}: want > 0 (the seed samples)`);
  const scores = Float32Array.from(lastLogits);
  applyRepetitionPenalty(scores, promptIds, repetitionPenalty);
  applyTemperature(scores, temperature);
  return scores;
}

export interface ConstrainedAnswer {
  readonly answer: Choice;
  /** score[▁X] + score[X] for A..D (float32). */
  readonly choiceScores: readonly number[];
  /** Most likely token of the processed scores (the seed's "response"). */
  readonly topId: number;
}

export function constrainedAnswer(scores: Float32Array, ids: ChoiceIds): ConstrainedAnswer {
  const sums = CHOICES.map((_, i) => Math.fround(scores[ids.spaced[i]] + scores[ids.bare[i]]));
  if (sums.some((s) => !Number.isFinite(s))) throw new LlamatsError(`C-Eval: a choice score is not finite (${sums.join(", ")})`);
  let best = 0;
  for (let i = 1; i < 4; i++) if (sums[i] > sums[best]) best = i;
  return { answer: CHOICES[best], choiceScores: sums, topId: argmax(scores) };
}
