import { expect } from "chai";
import fc from "fast-check";
import {
  Rng, Sampler, applyRepetitionPenalty, applyFrequencyPresencePenalty, penaltyWindow, applyTemperature, applyTopK, applyTopP, softmax, drawFrom, argmax,
} from "@llamats/engine";

const scoresArb = fc
  .array(fc.float({ min: -20, max: 20, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 })
  .map((a) => Float32Array.from(a));

describe("sampling: repetition penalty", () => {
  it("divides positive and multiplies negative scores, once per id", () => {
    const s = Float32Array.from([2, -2, 0.5, 3]);
    applyRepetitionPenalty(s, [0, 1, 1, 1, 2], 2);
    expect(Array.from(s)).to.deep.equal([1, -4, 0.25, 3]);
  });
  it("property: a penalty > 1 lowers every repeated id by the factor p (either sign), once; others unchanged", () => {
    // The exact float32 bits are held to the PyTorch goldens (sampling-reference.test.ts);
    // here the rule's shape: positive scores shrink toward 0, negative ones move away from it.
    fc.assert(
      fc.property(scoresArb, fc.array(fc.nat(80)), fc.float({ min: Math.fround(1.01), max: 3, noNaN: true }), (scores, hist, p) => {
        const out = Float32Array.from(scores);
        applyRepetitionPenalty(out, hist, p);
        const inHist = new Set(hist);
        for (let i = 0; i < scores.length; i++) {
          const s = scores[i];
          if (!inHist.has(i) || s === 0) {
            expect(out[i]).to.equal(s);
            continue;
          }
          expect(out[i]).to.be.at.most(s);
          expect(Math.sign(out[i])).to.equal(Math.sign(s));
          if (Math.abs(s) < 1e-30) continue; // subnormals: too few bits for the factor
          const factor = s > 0 ? s / out[i] : out[i] / s; // p, up to float32 rounding
          expect(factor).to.be.closeTo(p, p * 1e-6);
        }
      }),
      { numRuns: 100 },
    );
  });
  it("frequency / presence: minus count * f + p for ids in the window only", () => {
    const s = Float32Array.from([1, 1, 1, 1]);
    applyFrequencyPresencePenalty(s, penaltyWindow([0, 0, 1, 1, 1, 2], 4), 0.5, 0.25);
    // window [1, 1, 1, 2]: id 1 three times, id 2 once, id 0 outside
    expect(Array.from(s)).to.deep.equal([1, 1 - 1.5 - 0.25, 1 - 0.5 - 0.25, 1]);
  });
});

describe("sampling: temperature, top-k, top-p", () => {
  it("temperature scales", () => {
    const s = Float32Array.from([1, -2, 4]);
    applyTemperature(s, 0.5);
    expect(Array.from(s)).to.deep.equal([2, -4, 8]);
  });
  it("top-k keeps ties with the k-th value", () => {
    const s = Float32Array.from([1, 5, 3, 3, 0, 3]);
    applyTopK(s, 2);
    expect(Array.from(s)).to.deep.equal([-Infinity, 5, 3, 3, -Infinity, 3]);
  });
  it("property: top-k keeps exactly the scores >= the k-th largest", () => {
    fc.assert(
      fc.property(scoresArb, fc.integer({ min: 1, max: 70 }), (scores, k) => {
        const out = Float32Array.from(scores);
        applyTopK(out, k);
        const sorted = Array.from(scores).sort((a, b) => b - a);
        const kth = sorted[Math.min(k, sorted.length) - 1];
        let kept = 0;
        for (let i = 0; i < scores.length; i++) {
          if (scores[i] >= kth) {
            expect(out[i]).to.equal(scores[i]);
            kept++;
          } else expect(out[i]).to.equal(-Infinity);
        }
        expect(kept).to.be.at.least(Math.min(k, scores.length));
      }),
      { numRuns: 150 },
    );
  });
  it("top-p example: a cumulative sum exactly equal to 1 - p is removed (<=, not <)", () => {
    // four equal scores: probabilities exactly 0.25, ascending sums exactly 0.25, 0.5, 0.75, 1
    const kept = (p: number) => {
      const s = Float32Array.from([0, 0, 0, 0, -Infinity]);
      applyTopP(s, p);
      return Array.from(s).map((v) => v !== -Infinity);
    };
    expect(kept(0.75)).to.deep.equal([true, true, true, false, false]); // 0.25 <= 0.25: one goes
    expect(kept(0.5)).to.deep.equal([true, true, false, false, false]);
    expect(kept(0.76)).to.deep.equal([true, true, true, true, false]);
    expect(kept(0.01)).to.deep.equal([true, false, false, false, false]); // at least one stays
  });
  it("property: top-p keeps the most likely token and a set of mass >= p", () => {
    fc.assert(
      fc.property(scoresArb, fc.float({ min: Math.fround(0.01), max: Math.fround(0.99), noNaN: true }), (scores, p) => {
        const before = softmax(scores);
        const out = Float32Array.from(scores);
        applyTopP(out, p);
        const best = argmax(scores);
        expect(out[best]).to.equal(scores[best]);
        let mass = 0;
        let maxRemoved = -Infinity;
        let minKept = Infinity;
        for (let i = 0; i < scores.length; i++) {
          if (out[i] !== -Infinity) {
            mass += before[i];
            minKept = Math.min(minKept, scores[i]);
          } else maxRemoved = Math.max(maxRemoved, scores[i]);
        }
        expect(mass).to.be.at.least(p - 1e-6);
        expect(maxRemoved).to.be.at.most(minKept); // a prefix of the ascending order is removed
      }),
      { numRuns: 150 },
    );
  });
  it("property: the distribution after every step sums to 1 over the kept tokens", () => {
    fc.assert(
      fc.property(scoresArb, fc.array(fc.nat(64)), fc.integer({ min: 0, max: 40 }), fc.float({ min: Math.fround(0.05), max: 1, noNaN: true }), fc.float({ min: Math.fround(0.05), max: 2, noNaN: true }), (scores, hist, k, p, t) => {
        const sampler = new Sampler({ temperature: t, topK: k, topP: p, repeatPenalty: 1.1, seed: 1 });
        const probs = softmax(sampler.process(scores, hist));
        let sum = 0;
        for (const q of probs) {
          expect(q).to.be.at.least(0);
          sum += q;
        }
        expect(sum).to.be.closeTo(1, 1e-9);
        const id = sampler.sample(scores, hist);
        expect(probs[id]).to.be.greaterThan(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe("sampling: draw and determinism", () => {
  it("Rng is deterministic per seed and uniform-ish", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(xs).to.deep.equal(Array.from({ length: 1000 }, () => b.nextFloat()));
    expect(xs[0]).to.not.equal(c.nextFloat());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).to.be.closeTo(0.5, 0.05);
    expect(Math.min(...xs)).to.be.at.least(0);
    expect(Math.max(...xs)).to.be.lessThan(1);
  });
  it("drawFrom inverts the CDF", () => {
    const p = Float64Array.from([0, 0.25, 0, 0.75]);
    expect(drawFrom(p, 0)).to.equal(1);
    expect(drawFrom(p, 0.2499)).to.equal(1);
    expect(drawFrom(p, 0.25)).to.equal(3);
    expect(drawFrom(p, 0.999999)).to.equal(3);
  });
  it("empirical frequencies follow the distribution", () => {
    const logits = Float32Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    const s = new Sampler({ temperature: 1, topK: 0, topP: 1, repeatPenalty: 1, seed: 7 });
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[s.sample(logits, [])]++;
    expect(counts[0] / 20000).to.be.closeTo(0.6, 0.02);
    expect(counts[1] / 20000).to.be.closeTo(0.3, 0.02);
    expect(counts[2] / 20000).to.be.closeTo(0.1, 0.02);
  });
  it("greedy at temperature 0 takes the argmax after the penalty", () => {
    const s = new Sampler({ temperature: 0, repeatPenalty: 2 });
    expect(s.sample(Float32Array.from([1, 3, 2]), [])).to.equal(1);
    expect(s.sample(Float32Array.from([1, 3, 2]), [1])).to.equal(2); // 3/2 < 2
  });
  it("property: same seed, same sequence of draws", () => {
    fc.assert(
      fc.property(scoresArb, fc.integer(), (scores, seed) => {
        const a = new Sampler({ temperature: 0.8, seed });
        const b = new Sampler({ temperature: 0.8, seed });
        for (let i = 0; i < 5; i++) expect(a.sample(scores, [i])).to.equal(b.sample(scores, [i]));
      }),
      { numRuns: 50 },
    );
  });
  it("rejects bad options with a LlamatsError", () => {
    expect(() => new Sampler({ temperature: -1 })).to.throw(/temperature/);
    expect(() => new Sampler({ topP: 0 })).to.throw(/top-p/);
  });
});
