// Perplexity exactly as llama.cpp's llama-perplexity computes it (tools/perplexity, the
// default mode without --ppl-stride):
//   1. the whole text is tokenised once, with BOS in front;
//   2. it is cut into n_chunk = min(--chunks, floor(nTokens / nCtx)) chunks of nCtx tokens,
//      chunk i = tokens[i*nCtx, (i+1)*nCtx); the remainder is never used;
//   3. each chunk is evaluated from position 0 on an empty KV cache with its first token
//      replaced by BOS;
//   4. only the second half is scored: the logits at positions first .. nCtx-2, with
//      first = floor(nCtx/2), predict the tokens at first+1 .. nCtx-1, so each chunk scores
//      nCtx - 1 - first tokens;
//   5. nll_t = -log softmax(logits)[token] (float32 logits and max, float64 sum of expf), the
//      running perplexity exp(mean nll) is reported after each chunk ("[i]ppl"), and the final
//      estimate carries the standard error ppl * sqrt((mean(nll^2) - mean(nll)^2)/(count-1)).
// llama.cpp refuses a text of fewer than 2*nCtx tokens, and so do we (same message idea).

import { LlamatsError } from "@llamats/tensor";

/** What a perplexity run needs from a model: LlamaModel satisfies it. */
export interface EvalModel {
  readonly config: { readonly vocabSize: number };
  forward(tokens: readonly number[] | Int32Array, opts?: { pos?: number; logits?: "last" | "all" }): Float32Array;
  reset(): void;
}

export interface PerplexityPlan {
  /** Tokens of the whole text, BOS included. */
  readonly nTokens: number;
  readonly nCtx: number;
  /** Chunks evaluated. */
  readonly nChunk: number;
  /** First scored logit position in a chunk: floor(nCtx / 2). */
  readonly first: number;
  /** Tokens scored per chunk: nCtx - 1 - first. */
  readonly scoredPerChunk: number;
}

/** The chunking arithmetic of llama-perplexity; a LlamatsError when the text is too short. */
export function planPerplexity(nTokens: number, nCtx: number, maxChunks?: number): PerplexityPlan {
  if (!Number.isInteger(nCtx) || nCtx < 4) throw new LlamatsError(`perplexity: context size ${nCtx}: want an integer >= 4`);
  if (nTokens < 2 * nCtx) {
    throw new LlamatsError(
      `perplexity: the text tokenizes to only ${nTokens} tokens; at least ${2 * nCtx} (2 x context ${nCtx}) are needed, as in llama.cpp (use a longer text or a smaller --ctx-size)`,
    );
  }
  const nChunkMax = Math.floor(nTokens / nCtx);
  const nChunk = maxChunks === undefined || maxChunks < 0 ? nChunkMax : Math.min(maxChunks, nChunkMax);
  if (nChunk < 1) throw new LlamatsError(`perplexity: --chunks ${maxChunks}: want at least 1`);
  const first = Math.floor(nCtx / 2);
  return { nTokens, nCtx, nChunk, first, scoredPerChunk: nCtx - 1 - first };
}

/** Chunk i of the token stream (nCtx ids) with BOS in place of its first token. */
export function chunkTokens(tokens: ArrayLike<number>, plan: PerplexityPlan, i: number, bosId: number): Int32Array {
  if (i < 0 || i >= plan.nChunk) throw new LlamatsError(`perplexity: chunk ${i} outside 0 .. ${plan.nChunk - 1}`);
  const out = new Int32Array(plan.nCtx);
  for (let k = 0; k < plan.nCtx; k++) out[k] = tokens[i * plan.nCtx + k];
  out[0] = bosId;
  return out;
}

const f = Math.fround;

/**
 * -log p(tok) from one row of float32 logits, as llama.cpp's log_softmax: the max and the
 * differences in float32, exp in float32 (expf), the sum in float64.
 */
export function tokenNll(logits: Float32Array, offset: number, nVocab: number, tok: number): number {
  let max = logits[offset];
  for (let i = 1; i < nVocab; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < nVocab; i++) sum += f(Math.exp(f(logits[offset + i] - max)));
  return -(f(logits[offset + tok] - max) - Math.log(sum));
}

/** Running sums of nll and nll^2 (float64, as llama.cpp keeps them). */
export class NllAccumulator {
  nll = 0;
  nll2 = 0;
  count = 0;

  add(v: number): void {
    this.nll += v;
    this.nll2 += v * v;
    this.count++;
  }

  /** exp(mean nll). */
  get ppl(): number {
    return Math.exp(this.nll / this.count);
  }

  /** Standard error of the perplexity estimate; NaN when it cannot be estimated. */
  get stdErr(): number {
    const mean = this.nll / this.count;
    const variance = this.nll2 / this.count - mean * mean;
    if (!(variance > 0) || this.count < 2) return NaN;
    return Math.sqrt(variance / (this.count - 1)) * this.ppl;
  }
}

/**
 * Logits (nCtx - first, vocab) of positions first .. nCtx-1 of one chunk, evaluated from
 * position 0 on an empty cache. The first half runs without its logits (only the last
 * row's lm_head is computed), the second half with all of them.
 */
export function evalChunkTail(model: EvalModel, chunk: Int32Array, first: number): Float32Array {
  model.reset();
  model.forward(chunk.subarray(0, first), { pos: 0, logits: "last" });
  return model.forward(chunk.subarray(first), { pos: first, logits: "all" });
}

export interface ChunkReport {
  /** 0-based chunk index. */
  readonly index: number;
  /** Running perplexity after this chunk (llama.cpp's "[i]ppl" with i = index + 1). */
  readonly ppl: number;
  readonly seconds: number;
}

export interface PerplexityResult {
  readonly nTokens: number;
  readonly nCtx: number;
  readonly nChunk: number;
  /** Tokens scored in all. */
  readonly count: number;
  readonly ppl: number;
  readonly stdErr: number;
  /** Running perplexity after each chunk. */
  readonly chunks: number[];
  readonly seconds: number;
  /** Tokens evaluated (nChunk * nCtx) per second of model time. */
  readonly tokensPerSecond: number;
}

export interface PerplexityOptions {
  readonly nCtx: number;
  /** At most this many chunks (default all). */
  readonly chunks?: number;
  readonly bosId: number;
  readonly onChunk?: (r: ChunkReport) => void;
  /** Sees each chunk's tail logits (nCtx - first, vocab) and ids before they are scored (--save-logits). */
  readonly onTailLogits?: (chunkIndex: number, tailLogits: Float32Array, chunk: Int32Array) => void;
  readonly signal?: AbortSignal;
}

/** llama-perplexity over a token stream (BOS first). */
export async function perplexity(model: EvalModel, tokens: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  const plan = planPerplexity(tokens.length, opts.nCtx, opts.chunks);
  const nVocab = model.config.vocabSize;
  const acc = new NllAccumulator();
  const chunks: number[] = [];
  let seconds = 0;
  for (let i = 0; i < plan.nChunk; i++) {
    if (opts.signal?.aborted) throw new LlamatsError("perplexity: interrupted");
    const chunk = chunkTokens(tokens, plan, i, opts.bosId);
    const t0 = performance.now();
    const tail = evalChunkTail(model, chunk, plan.first);
    const dt = (performance.now() - t0) / 1000;
    seconds += dt;
    opts.onTailLogits?.(i, tail, chunk);
    for (let j = 0; j < plan.scoredPerChunk; j++) {
      // tail row j is position first + j; it predicts the original token at first + j + 1.
      acc.add(tokenNll(tail, j * nVocab, nVocab, tokens[i * plan.nCtx + plan.first + j + 1]));
    }
    chunks.push(acc.ppl);
    opts.onChunk?.({ index: i, ppl: acc.ppl, seconds: dt });
    await new Promise((r) => setImmediate(r)); // let Ctrl-C and stderr through between chunks
  }
  return {
    nTokens: plan.nTokens,
    nCtx: plan.nCtx,
    nChunk: plan.nChunk,
    count: acc.count,
    ppl: acc.ppl,
    stdErr: acc.stdErr,
    chunks,
    seconds,
    tokensPerSecond: (plan.nChunk * plan.nCtx) / seconds,
  };
}
