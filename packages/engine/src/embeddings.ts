// Text embeddings as the seed's OpenAI-style server defines them (CHINESE-LLAMA-ALPACA.md §7):
// the last hidden state after the final RMSNorm, mean-pooled over every token including BOS,
// L2-normalised. One definition for the server's /v1/embeddings and the LangChain classes.

import { LlamatsError } from "@llamats/tensor";
import type { LlamaModel } from "./llm.js";

/** Mean over the rows of hidden (nTokens, dim), then L2-normalised (float64 sums). */
export function meanPoolNormalize(hidden: Float32Array, nTokens: number, dim: number): Float32Array {
  if (nTokens < 1 || hidden.length < nTokens * dim) throw new LlamatsError(`embeddings: ${hidden.length} values do not hold ${nTokens} x ${dim}`);
  const acc = new Float64Array(dim);
  for (let t = 0; t < nTokens; t++) for (let i = 0; i < dim; i++) acc[i] += hidden[t * dim + i];
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    acc[i] /= nTokens;
    norm += acc[i] * acc[i];
  }
  // torch.nn.functional.normalize: divide by max(||x||, 1e-12).
  const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
  return Float32Array.from(acc, (v) => v * scale);
}

/**
 * The embedding (dim,) of a text: tokenized with BOS (as the seed's tokenizer call does), run
 * on a sequence of its own (so it never disturbs a generation), pooled and normalised.
 */
export async function embedText(model: LlamaModel, text: string, signal?: AbortSignal): Promise<Float32Array> {
  const ids = model.tokenize(text, { bos: true });
  const seq = model.createSequence({ nCtx: Math.max(1, Math.min(ids.length, model.nCtx)) });
  try {
    if (ids.length > model.nCtx) throw new LlamatsError(`embeddings: the text has ${ids.length} tokens; the context is ${model.nCtx}`);
    return meanPoolNormalize(await seq.embed(ids, signal), ids.length, model.config.embeddingLength);
  } finally {
    seq.dispose();
  }
}
