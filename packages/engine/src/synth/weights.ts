// Seeded weights for the synthetic models, generated tensor by tensor and row chunk by row
// chunk (a 7B model never sits in memory; the largest buffer is one tensor's output bytes).
// Each tensor has its own PRNG stream seeded from (seed, tensor name), so a tensor's values
// do not depend on the order or the chunking in which tensors are produced.
// Values are uniform in [-a, a) with a = std * sqrt(3) (the std asked for, cheaper than
// Gaussian draws). Norm weights are 1. The output head uses a larger std than the other
// linears so next-token distributions are peaked rather than flat, and its rows for control,
// byte, word-fragment and padding pieces are zero (logit 0 while whole words reach +-4):
// random weights then rarely pick them, and the demo prints words. Token embeddings have
// std 1 so the current token dominates the residual stream (a random bigram-like model:
// varied text rather than one token repeated).

import type { SynthShape } from "./shapes.js";
import { embeddedVocab } from "./vocab.js";

export interface SynthTensorSpec {
  readonly name: string;
  /** (rows, cols) for matrices, (n) for norms. */
  readonly shape: readonly number[];
  /** Standard deviation of the values; 0 means the tensor is all ones (norm weights). */
  readonly std: number;
  /** Rows r with zeroRows[r] = 1 are zero (output head: quiet pieces of the vocabulary). */
  readonly zeroRows?: Uint8Array;
}

const LINEAR_STD = 0.02;
const EMBED_STD = 1;

export function synthTensorSpecs(s: SynthShape): SynthTensorSpec[] {
  const headDim = s.embeddingLength / s.headCount;
  const kvDim = headDim * s.headCountKv;
  const specs: SynthTensorSpec[] = [{ name: "token_embd.weight", shape: [s.vocabSize, s.embeddingLength], std: EMBED_STD }];
  for (let l = 0; l < s.blockCount; l++) {
    const p = `blk.${l}.`;
    specs.push(
      { name: p + "attn_norm.weight", shape: [s.embeddingLength], std: 0 },
      { name: p + "attn_q.weight", shape: [s.embeddingLength, s.embeddingLength], std: LINEAR_STD },
      { name: p + "attn_k.weight", shape: [kvDim, s.embeddingLength], std: LINEAR_STD },
      { name: p + "attn_v.weight", shape: [kvDim, s.embeddingLength], std: LINEAR_STD },
      { name: p + "attn_output.weight", shape: [s.embeddingLength, s.embeddingLength], std: LINEAR_STD },
      { name: p + "ffn_norm.weight", shape: [s.embeddingLength], std: 0 },
      { name: p + "ffn_gate.weight", shape: [s.feedForwardLength, s.embeddingLength], std: LINEAR_STD },
      { name: p + "ffn_down.weight", shape: [s.embeddingLength, s.feedForwardLength], std: LINEAR_STD },
      { name: p + "ffn_up.weight", shape: [s.feedForwardLength, s.embeddingLength], std: LINEAR_STD },
    );
  }
  specs.push(
    { name: "output_norm.weight", shape: [s.embeddingLength], std: 0 },
    // logit std ~ 2 for a unit-RMS hidden state
    { name: "output.weight", shape: [s.vocabSize, s.embeddingLength], std: 2 / Math.sqrt(s.embeddingLength), zeroRows: embeddedVocab(s.vocabSize).quiet },
  );
  return specs;
}

/** FNV-1a over the name, mixed with the seed: the tensor's own PRNG seed. */
export function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h ^= Math.floor(seed / 4294967296);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}

/** A row-chunk generator for one tensor: call it with consecutive row ranges. */
export function tensorRowGenerator(spec: SynthTensorSpec, seed: number): (out: Float32Array, row0: number, nRows: number) => void {
  const cols = spec.shape.length === 1 ? spec.shape[0] : spec.shape[1];
  let state = tensorSeed(seed, spec.name);
  const a = spec.std * Math.sqrt(3);
  const zeroRows = spec.zeroRows;
  return (out, row0, nRows) => {
    for (let r = 0; r < nRows; r++) {
      const base = r * cols;
      const zero = zeroRows !== undefined && zeroRows[row0 + r] === 1;
      for (let c = 0; c < cols; c++) {
        if (spec.std === 0) {
          out[base + c] = 1;
          continue;
        }
        // mulberry32, inlined: the hot loop of a 7B synth (6.7 G values)
        state = (state + 0x6d2b79f5) | 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        out[base + c] = zero ? 0 : (2 * u - 1) * a;
      }
    }
  };
}
