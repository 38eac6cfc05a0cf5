// Shapes of the synthetic models: real LLaMA architectures with made-up weights.
// tiny: small enough for `npm start` and tests; 1b: TinyLlama-1.1B; 7b: LLaMA-7B with the
// Chinese-LLaMA vocabulary (CHINESE-LLAMA-ALPACA.md §1). ffn widths follow LLaMA's rule
// 256 * ceil(floor(8 * dim / 3) / 256) (for tiny: 768), so every row length is a multiple of
// 256 and every ggml type, K types included, can hold every matrix.

import { embeddedVocabSize } from "./vocab.js";

export interface SynthShape {
  readonly name: string;
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly ffnDim: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
}

export type SynthShapeName = "tiny" | "1b" | "7b";

export const SYNTH_SHAPES: Readonly<Record<SynthShapeName, SynthShape>> = Object.freeze({
  tiny: {
    name: "tiny", dim: 256, nLayers: 4, nHeads: 8, nKvHeads: 4, ffnDim: 768,
    vocabSize: embeddedVocabSize(), contextLength: 2048, rmsNormEps: 1e-6, ropeTheta: 10000,
  },
  "1b": {
    name: "1b", dim: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, ffnDim: 5632,
    vocabSize: 32000, contextLength: 2048, rmsNormEps: 1e-5, ropeTheta: 10000,
  },
  "7b": {
    name: "7b", dim: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, ffnDim: 11008,
    vocabSize: 49953, contextLength: 2048, rmsNormEps: 1e-6, ropeTheta: 10000,
  },
});

export function isSynthShapeName(s: string): s is SynthShapeName {
  return Object.prototype.hasOwnProperty.call(SYNTH_SHAPES, s);
}
