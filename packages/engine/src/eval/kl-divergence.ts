// KL-divergence of a model against the base log-probabilities of a --save-logits file, with
// llama.cpp's statistics (`llama-perplexity --kl-divergence`): per scored token
//   nll      = -log softmax(logits)[tok]                        (this model)
//   nllBase  = -(scale * q[tok] + minLogProb)                    (the base, dequantised)
//   kld      = sum_i p_base,i (log p_base,i - log p_i) over base log-probs > -16
//   same top = argmax of this model's logits == argmax of the base record
//   Δp       = p(tok) - p_base(tok)
// and over all tokens the means with their standard errors, the correlation of the two
// ln-perplexities, Δppl = PPL(Q) - PPL(base) with its uncertainty, KLD percentiles and the
// top-1 agreement ("same top p").

import { LlamatsError } from "@llamats/tensor";
import { logprobRecordU16, type LogProbReader } from "./logprob-file.js";
import { evalChunkTail, type EvalModel } from "./perplexity.js";

const f = Math.fround;

export class KlAccumulator {
  sumNll = 0;
  sumNll2 = 0;
  sumNllBase = 0;
  sumNllBase2 = 0;
  sumNllNllBase = 0;
  sumKld = 0;
  sumKld2 = 0;
  sumPDiff = 0;
  sumPDiff2 = 0;
  sumPDiff4 = 0;
  maxPDiff = 0;
  nSameTop = 0;
  count = 0;
  readonly kldValues: number[] = [];
  readonly pDiffValues: number[] = [];

  /** One scored token: logits row of this model, the base record (nv u16), the true next token. */
  add(logits: Float32Array, offset: number, nVocab: number, record: Uint16Array, recordAt: number, tok: number): void {
    let max = logits[offset];
    let imax = 0;
    for (let i = 1; i < nVocab; i++) {
      if (logits[offset + i] > max) {
        max = logits[offset + i];
        imax = i;
      }
    }
    let sumExp = 0;
    for (let i = 0; i < nVocab; i++) sumExp += f(Math.exp(f(logits[offset + i] - max)));
    const lse = f(Math.log(sumExp));
    const head = new Float32Array(record.buffer, record.byteOffset + recordAt * 2, 2);
    const scale = head[0];
    const minLogProb = head[1];
    const q = recordAt + 4;

    const nll = f(f(max + lse) - logits[offset + tok]);
    this.sumNll += nll;
    this.sumNll2 += f(nll * nll);
    const nllBase = f(-f(f(scale * record[q + tok]) + minLogProb));
    this.sumNllBase += nllBase;
    this.sumNllBase2 += f(nllBase * nllBase);
    this.sumNllNllBase += f(nll * nllBase);

    const logZ = f(max + lse);
    let kld = 0;
    let imaxBase = -1;
    let best = 0;
    for (let i = 0; i < nVocab; i++) {
      const lpBase = f(f(scale * record[q + i]) + minLogProb);
      if (i === 0 || lpBase > best) {
        best = lpBase;
        imaxBase = i;
      }
      if (lpBase > -16) kld += f(f(Math.exp(lpBase)) * f(f(lpBase - logits[offset + i]) + logZ));
    }
    this.sumKld += kld;
    this.sumKld2 += kld * kld;
    this.count++;
    if (imax === imaxBase) this.nSameTop++;

    const pDiff = f(f(Math.exp(-nll)) - f(Math.exp(-nllBase)));
    this.sumPDiff += pDiff;
    const p2 = f(pDiff * pDiff);
    this.sumPDiff2 += p2;
    this.sumPDiff4 += p2 * p2;
    this.maxPDiff = Math.max(this.maxPDiff, Math.abs(pDiff));
    this.kldValues.push(f(kld));
    this.pDiffValues.push(pDiff);
  }
}

export interface ValueWithError {
  readonly value: number;
  readonly error: number;
}

export interface KlSummary {
  readonly nChunk: number;
  readonly nCtx: number;
  /** Tokens scored. */
  readonly count: number;
  readonly pplQ: ValueWithError;
  readonly pplBase: ValueWithError;
  /** Correlation of ln PPL(Q) and ln PPL(base) (a fraction). */
  readonly lnPplCorrelation: number;
  readonly lnPplRatio: ValueWithError;
  readonly pplRatio: ValueWithError;
  /** Δppl = PPL(Q) - PPL(base). */
  readonly pplDiff: ValueWithError;
  readonly kld: ValueWithError & {
    readonly max: number;
    readonly p99_9: number;
    readonly p99: number;
    readonly p95: number;
    readonly p90: number;
    readonly median: number;
    readonly p10: number;
    readonly p5: number;
    readonly p1: number;
    readonly p0_1: number;
    readonly min: number;
  };
  /** Δp = p(tok) - p_base(tok): mean and RMS (fractions). */
  readonly pDiff: ValueWithError;
  readonly pDiffRms: ValueWithError;
  readonly pDiffMax: number;
  /** Top-1 agreement ("same top p"), a fraction. */
  readonly sameTop: ValueWithError;
}

function meanAndError(sum: number, sum2: number, count: number): ValueWithError {
  if (count < 1) return { value: 0, error: 0 };
  const m = sum / count;
  const v = sum2 / count - m * m;
  return { value: m, error: v > 0 && count > 10 ? Math.sqrt(v / (count - 1)) : 0 };
}

function covariance(a: number, b: number, ab: number, count: number): number {
  if (count < 10) return 0;
  return (ab / count - (a / count) * (b / count)) / (count - 1);
}

/** Linear-interpolated percentile of sorted values (llama.cpp's). */
function percentile(sorted: number[], fraction: number): number {
  if (fraction <= 0) return sorted[0];
  if (fraction >= 1) return sorted[sorted.length - 1];
  let p = fraction * (sorted.length - 1);
  const ip = Math.floor(p);
  p -= ip;
  return (1 - p) * sorted[ip] + p * sorted[Math.min(ip + 1, sorted.length - 1)];
}

function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 === 0 ? 0.5 * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[(n - 1) / 2];
}

export function summarizeKl(acc: KlAccumulator, nChunk: number, nCtx: number): KlSummary {
  const lnQ = meanAndError(acc.sumNll, acc.sumNll2, acc.count);
  const lnBase = meanAndError(acc.sumNllBase, acc.sumNllBase2, acc.count);
  const pplQ = Math.exp(lnQ.value);
  const pplB = Math.exp(lnBase.value);
  const cov = covariance(acc.sumNll, acc.sumNllBase, acc.sumNllNllBase, acc.count);
  const ratioLn = { value: lnQ.value - lnBase.value, error: Math.sqrt(lnQ.error ** 2 + lnBase.error ** 2 - 2 * cov) };
  const pplQErr = pplQ * lnQ.error;
  const pplBErr = pplB * lnBase.error;
  const kldSorted = [...acc.kldValues].sort((a, b) => a - b);
  const kld = meanAndError(acc.sumKld, acc.sumKld2, acc.count);
  const mse = meanAndError(acc.sumPDiff2, acc.sumPDiff4, acc.count);
  const rms = Math.sqrt(mse.value);
  const same = acc.nSameTop / acc.count;
  return {
    nChunk,
    nCtx,
    count: acc.count,
    pplQ: { value: pplQ, error: pplQErr },
    pplBase: { value: pplB, error: pplBErr },
    lnPplCorrelation: cov / (lnQ.error * lnBase.error),
    lnPplRatio: ratioLn,
    pplRatio: { value: Math.exp(ratioLn.value), error: Math.exp(ratioLn.value) * ratioLn.error },
    pplDiff: { value: pplQ - pplB, error: Math.sqrt(pplQErr ** 2 + pplBErr ** 2 - 2 * pplQ * pplB * cov) },
    kld: {
      ...kld,
      max: kldSorted[kldSorted.length - 1],
      p99_9: percentile(kldSorted, 0.999),
      p99: percentile(kldSorted, 0.99),
      p95: percentile(kldSorted, 0.95),
      p90: percentile(kldSorted, 0.9),
      median: median(kldSorted),
      p10: percentile(kldSorted, 0.1),
      p5: percentile(kldSorted, 0.05),
      p1: percentile(kldSorted, 0.01),
      p0_1: percentile(kldSorted, 0.001),
      min: kldSorted[0],
    },
    pDiff: meanAndError(acc.sumPDiff, acc.sumPDiff2, acc.count),
    pDiffRms: { value: rms, error: rms > 0 ? (0.5 / rms) * mse.error : 0 },
    pDiffMax: acc.maxPDiff,
    sameTop: { value: same, error: acc.count > 1 ? Math.sqrt((same * (1 - same)) / (acc.count - 1)) : 0 },
  };
}

export interface KlChunkReport {
  readonly index: number;
  readonly ppl: number;
  readonly lnPplRatio: number;
  readonly kld: number;
  readonly sameTop: number;
  readonly seconds: number;
}

export interface KlOptions {
  readonly bosId: number;
  /** At most this many chunks of the file (default all). */
  readonly chunks?: number;
  readonly onChunk?: (r: KlChunkReport) => void;
  readonly signal?: AbortSignal;
}

/** Evaluate the file's chunks with `model` and compare with the base log-probabilities. */
export async function klDivergence(model: EvalModel, base: LogProbReader, opts: KlOptions): Promise<KlSummary & { seconds: number; tokensPerSecond: number }> {
  const nVocab = model.config.vocabSize;
  if (base.nVocab !== nVocab) throw new LlamatsError(`${base.path}: written for a vocabulary of ${base.nVocab}, this model has ${nVocab}`);
  const nChunk = opts.chunks === undefined || opts.chunks < 0 ? base.nChunk : Math.min(opts.chunks, base.nChunk);
  const nCtx = base.nCtx;
  const first = Math.floor(nCtx / 2);
  const nv = logprobRecordU16(nVocab);
  const acc = new KlAccumulator();
  let seconds = 0;
  for (let i = 0; i < nChunk; i++) {
    if (opts.signal?.aborted) throw new LlamatsError("kl-divergence: interrupted");
    const chunk = base.tokens.slice(i * nCtx, (i + 1) * nCtx);
    chunk[0] = opts.bosId;
    const t0 = performance.now();
    const tail = evalChunkTail(model, chunk, first);
    const dt = (performance.now() - t0) / 1000;
    seconds += dt;
    const records = base.chunk(i);
    for (let j = 0; j < base.scoredPerChunk; j++) {
      acc.add(tail, j * nVocab, nVocab, records, j * nv, base.tokens[i * nCtx + first + j + 1]);
    }
    const s = summarizeKl(acc, i + 1, nCtx);
    opts.onChunk?.({ index: i, ppl: s.pplQ.value, lnPplRatio: s.lnPplRatio.value, kld: s.kld.value, sameTop: s.sameTop.value, seconds: dt });
    await new Promise((r) => setImmediate(r));
  }
  return { ...summarizeKl(acc, nChunk, nCtx), seconds, tokensPerSecond: (nChunk * nCtx) / seconds };
}
