// llama-perplexity's arithmetic: chunking (odd lengths, short texts), the per-token nll, the
// running and final estimates, and the log-probability file (write -> read round trip,
// quantisation error bound, corruptions).
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  planPerplexity, chunkTokens, tokenNll, NllAccumulator, perplexity, LogProbWriter, LogProbReader, logprobRecordU16,
  quantizeLogProbs, KlAccumulator, summarizeKl, klDivergence, type EvalModel,
} from "@llamats/engine";

/** A fake model whose logits at position p are a fixed function of (token, p): enough to check the bookkeeping. */
function fakeModel(vocab: number): EvalModel & { calls: { tokens: number[]; pos: number }[] } {
  let cache: number[] = [];
  const calls: { tokens: number[]; pos: number }[] = [];
  return {
    config: { vocabSize: vocab },
    calls,
    reset: () => (cache = []),
    forward(tokens, opts = {}) {
      const pos = opts.pos ?? cache.length;
      cache = cache.slice(0, pos).concat(Array.from(tokens));
      calls.push({ tokens: Array.from(tokens), pos });
      const rows = opts.logits === "all" ? tokens.length : 1;
      const out = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) {
        const p = pos + (opts.logits === "all" ? r : tokens.length - 1);
        for (let v = 0; v < vocab; v++) out[r * vocab + v] = Math.sin(cache[p] * 1.7 + v * 0.31 + p * 0.05) * 3;
      }
      return out;
    },
  };
}

describe("perplexity: llama.cpp's chunking", () => {
  it("n_chunk = floor(nTokens / nCtx), first = floor(nCtx/2), nCtx-1-first scored per chunk", () => {
    expect(planPerplexity(1024, 512)).to.deep.equal({ nTokens: 1024, nCtx: 512, nChunk: 2, first: 256, scoredPerChunk: 255 });
    expect(planPerplexity(1535, 512).nChunk).to.equal(2); // the remainder is never used
    expect(planPerplexity(2241, 7)).to.deep.equal({ nTokens: 2241, nCtx: 7, nChunk: 320, first: 3, scoredPerChunk: 3 });
    expect(planPerplexity(100, 9, 3).nChunk).to.equal(3);
    expect(planPerplexity(100, 9, 99).nChunk).to.equal(11);
  });

  it("fewer than 2 x nCtx tokens is an error naming both numbers", () => {
    expect(() => planPerplexity(1023, 512)).to.throw(/only 1023 tokens; at least 1024/);
    expect(() => planPerplexity(600, 512)).to.throw(/2 x context 512/);
    expect(() => planPerplexity(100, 3)).to.throw(/context size 3/);
  });

  it("property: chunks tile the stream from 0, each starts with BOS, nothing past nChunk*nCtx", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 0, max: 200 }), (nCtx, extra) => {
        const n = 2 * nCtx + extra;
        const tokens = Array.from({ length: n }, (_, i) => 100 + i);
        const plan = planPerplexity(n, nCtx);
        expect(plan.nChunk * nCtx).to.be.at.most(n);
        expect((plan.nChunk + 1) * nCtx).to.be.greaterThan(n);
        expect(plan.first + plan.scoredPerChunk).to.equal(nCtx - 1);
        for (let i = 0; i < plan.nChunk; i++) {
          const c = chunkTokens(tokens, plan, i, 1);
          expect(c[0]).to.equal(1);
          expect(Array.from(c.subarray(1))).to.deep.equal(tokens.slice(i * nCtx + 1, (i + 1) * nCtx));
        }
      }),
    );
  });

  it("tokenNll is -log softmax, and the accumulator gives exp(mean) and its standard error", () => {
    const logits = new Float32Array([1, 2, 3, 0.5]);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(0.5));
    expect(tokenNll(logits, 0, 4, 1)).to.be.closeTo(lse - 2, 1e-6);
    const acc = new NllAccumulator();
    for (const v of [1, 2, 3, 4]) acc.add(v);
    expect(acc.ppl).to.be.closeTo(Math.exp(2.5), 1e-12);
    // sqrt((mean(v^2) - mean^2) / (n-1)) * ppl = sqrt((7.5 - 6.25) / 3) * e^2.5
    expect(acc.stdErr).to.be.closeTo(Math.sqrt(1.25 / 3) * Math.exp(2.5), 1e-9);
  });

  it("perplexity() scores exactly the second half of every chunk, evaluated from position 0 with BOS first", async () => {
    const vocab = 11;
    const m = fakeModel(vocab);
    const tokens = [1, ...Array.from({ length: 44 }, (_, i) => (i * 7 + 3) % vocab)]; // 45 tokens
    const nCtx = 9;
    const r = await perplexity(m, tokens, { nCtx, bosId: 1 });
    expect(r.nChunk).to.equal(5);
    expect(r.count).to.equal(5 * 4);
    // Independent recomputation: full forward of each chunk, rows 4..7 predict tokens 5..8.
    const ref = new NllAccumulator();
    const m2 = fakeModel(vocab);
    for (let i = 0; i < 5; i++) {
      const chunk = tokens.slice(i * nCtx, (i + 1) * nCtx);
      chunk[0] = 1;
      m2.reset();
      const all = m2.forward(chunk, { pos: 0, logits: "all" });
      for (let j = 4; j <= 7; j++) ref.add(tokenNll(all, j * vocab, vocab, tokens[i * nCtx + j + 1]));
    }
    expect(r.ppl).to.equal(ref.ppl);
    expect(r.stdErr).to.equal(ref.stdErr);
    expect(r.chunks).to.have.length(5);
    expect(r.chunks[4]).to.equal(r.ppl);
    expect(m.calls.filter((c) => c.pos === 0).every((c) => c.tokens[0] === 1)).to.equal(true);
  });
});

describe("perplexity: the --save-logits file (llama.cpp's layout)", () => {
  let dir = "";
  before(() => (dir = mkdtempSync(join(tmpdir(), "llamats-ppl-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("records: nv = 2*ceil(n/2)+4 u16, two floats then q; dequantised log-probs within scale/2 over the top 16 nats", () => {
    expect(logprobRecordU16(32000)).to.equal(32004);
    expect(logprobRecordU16(49953)).to.equal(49958);
    fc.assert(
      fc.property(fc.array(fc.float({ min: -30, max: 30, noNaN: true }), { minLength: 3, maxLength: 60 }), (vals) => {
        const logits = Float32Array.from(vals);
        const n = logits.length;
        const rec = new Uint16Array(logprobRecordU16(n));
        const nll = quantizeLogProbs(logits, 0, n, 1, rec);
        expect(nll).to.be.closeTo(tokenNll(logits, 0, n, 1), 1e-4);
        const [scale, minLp] = new Float32Array(rec.buffer, 0, 2);
        const max = Math.max(...logits);
        const lse = Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
        for (let i = 0; i < n; i++) {
          const lp = logits[i] - max - lse;
          if (lp < minLp + scale) continue; // clamped at the floor
          expect(scale * rec[4 + i] + minLp).to.be.closeTo(lp, scale / 2 + 1e-5);
        }
      }),
    );
  });

  it("write -> read round trip; corruptions name the file and field", async () => {
    const vocab = 7;
    const m = fakeModel(vocab);
    const tokens = [1, ...Array.from({ length: 40 }, (_, i) => (i * 5 + 2) % vocab)];
    const nCtx = 8;
    const path = join(dir, "base.bin");
    const w = new LogProbWriter(path, nCtx, vocab, 5, tokens);
    await perplexity(m, tokens, { nCtx, bosId: 1, onTailLogits: (i, tail) => w.appendChunk(tail, tokens.slice(i * nCtx + 5, (i + 1) * nCtx), 3) });
    w.close();
    const bytes = readFileSync(path);
    expect(bytes.length).to.equal(20 + 5 * 8 * 4 + 5 * 3 * logprobRecordU16(vocab) * 2);
    const r = new LogProbReader(path);
    try {
      expect([r.nCtx, r.nVocab, r.nChunk, r.scoredPerChunk]).to.deep.equal([8, 7, 5, 3]);
      expect(Array.from(r.tokens)).to.deep.equal(tokens.slice(0, 40));
      // The same model against its own log-probabilities: KL ~ 0 (quantisation only), top-1 always agrees.
      const s = await klDivergence(fakeModel(vocab), r, { bosId: 1 });
      expect(s.count).to.equal(15);
      expect(s.sameTop.value).to.equal(1);
      expect(Math.abs(s.kld.value)).to.be.lessThan(1e-5); // 16-bit log-probs: measured 1.2e-6
      expect(Math.abs(s.pplDiff.value) / s.pplBase.value).to.be.lessThan(1e-4);
    } finally {
      r.close();
    }
    const bad = join(dir, "bad.bin");
    writeFileSync(bad, Buffer.concat([Buffer.from("_logitz_"), bytes.subarray(8)]));
    expect(() => new LogProbReader(bad)).to.throw(/bad\.bin: magic at byte 0/);
    writeFileSync(bad, bytes.subarray(0, bytes.length - 2));
    expect(() => new LogProbReader(bad)).to.throw(/bad\.bin: file size at byte \d+: nCtx 8, nVocab 7, nChunk 5/);
  });

  it("KL statistics: a shifted distribution gives the KL computed by hand, and Δppl its sign", () => {
    const base = new Float32Array([2, 1, 0, -1]);
    const q = new Float32Array([1, 2, 0, -1]);
    const rec = new Uint16Array(logprobRecordU16(4));
    quantizeLogProbs(base, 0, 4, 0, rec);
    const acc = new KlAccumulator();
    for (let i = 0; i < 20; i++) acc.add(q, 0, 4, rec, 0, 0);
    const sm = (l: Float32Array) => {
      const z = Array.from(l).reduce((a, x) => a + Math.exp(x), 0);
      return Array.from(l).map((x) => Math.exp(x) / z);
    };
    const p = sm(base);
    const pq = sm(q);
    const kl = p.reduce((a, pi, i) => a + pi * Math.log(pi / pq[i]), 0);
    const s = summarizeKl(acc, 1, 8);
    expect(s.kld.value).to.be.closeTo(kl, 2e-4);
    expect(s.sameTop.value).to.equal(0);
    expect(s.pplDiff.value).to.be.closeTo(1 / pq[0] - 1 / p[0], 1e-3);
  });
});
