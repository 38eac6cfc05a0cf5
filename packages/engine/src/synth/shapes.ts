// Shapes of the synthetic models: real LLaMA architectures with made-up weights.
// tiny: small enough for `npm start` and tests; 1b: TinyLlama-1.1B; 7b: LLaMA-7B with the
// Chinese-LLaMA vocabulary (CHINESE-LLAMA-ALPACA.md §1). ffn widths follow LLaMA's rule
// 256 * ceil(floor(8 * dim / 3) / 256) (for tiny: 768), so every row length is a multiple of
// 256 and every ggml type, K types included, can hold every matrix.

import { embeddedVocabSize } from "./vocab.js";

export interface SynthShape {
  readonly name: string;
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly feedForwardLength: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly layerNormRmsEpsilon: number;
  readonly ropeFreqBase: number;
}

export type SynthShapeName = "tiny" | "1b" | "7b";

export const SYNTH_SHAPES: Readonly<Record<SynthShapeName, SynthShape>> = Object.freeze({
  tiny: {
    name: "tiny", embeddingLength: 256, blockCount: 4, headCount: 8, headCountKv: 4, feedForwardLength: 768,
    vocabSize: embeddedVocabSize(), contextLength: 2048, layerNormRmsEpsilon: 1e-6, ropeFreqBase: 10000,
  },
  "1b": {
    name: "1b", embeddingLength: 2048, blockCount: 22, headCount: 32, headCountKv: 4, feedForwardLength: 5632,
    vocabSize: 32000, contextLength: 2048, layerNormRmsEpsilon: 1e-5, ropeFreqBase: 10000,
  },
  "7b": {
    name: "7b", embeddingLength: 4096, blockCount: 32, headCount: 32, headCountKv: 32, feedForwardLength: 11008,
    vocabSize: 49953, contextLength: 2048, layerNormRmsEpsilon: 1e-6, ropeFreqBase: 10000,
  },
});

export function isSynthShapeName(s: string): s is SynthShapeName {
  return Object.prototype.hasOwnProperty.call(SYNTH_SHAPES, s);
}
