// Conformance: the f16 and q8_0 KV caches on the real stories260K model (GQA 8/4 heads,
// kvDim 32) against the f32 cache: logits at every position of the reference sequences
// within a stated absolute bound (logits here reach about ±18), the argmax of every
// teacher-forced position agreeing (all of them for f16, at least 90 % for q8_0), and
// greedy generations from BOS identical for a stated number of tokens.
//
// This 260K-parameter model is far more sensitive than a real one: rounding only the
// position-0 value row to f16 (2^-11 relative) already moves its logits by 3e-3. Measured
// (reference backend): f16 max |Δ| 5.9e-2, greedy first differs at token 37, 111/111
// argmax agree; q8_0 (one 32-value block spans all 4 KV heads) 1.1, token 10, 104/111.
import { expect } from "chai";
import { type LlamaWeights, RunState, forward } from "@llamats/model";
import { ReferenceBackend, type KVCacheType } from "@llamats/tensor";
import { argmax, describeConformance } from "@llamats/testkit";
import { maxAbsDiff } from "./helpers/golden.js";
import { STORIES260K_FILES, type Stories260KReference, loadStories260K } from "./helpers/stories260k.js";

type Typed = Exclude<KVCacheType, "f32">;
const BOUND: Record<Typed, number> = { f16: 0.1, q8_0: 1.5 };
const GREEDY_TOKENS: Record<Typed, number> = { f16: 32, q8_0: 8 };
const ARGMAX_AGREE: Record<Typed, number> = { f16: 1, q8_0: 0.9 };

describeConformance("model/stories260K: f16 and q8_0 KV caches vs f32", STORIES260K_FILES, () => {
  const backend = new ReferenceBackend();
  let weights: LlamaWeights;
  let ref: Stories260KReference;
  before(async () => {
    ({ weights, ref } = await loadStories260K(backend));
  });

  /** Logits of every position: prefill in chunks of 16 (later chunks read the cache), then one token at a time. */
  function allLogits(type: KVCacheType, tokens: number[]): { prefill: Float32Array; steps: Float32Array[] } {
    const prefill = forward(weights, new RunState(backend, weights.config, { maxBatch: 16, cacheType: type }), tokens, 0, { logits: "all" });
    const state = new RunState(backend, weights.config, { cacheType: type });
    const steps = tokens.map((t, p) => forward(weights, state, [t], p).slice());
    return { prefill, steps };
  }

  function greedy(type: KVCacheType, n: number): number[] {
    const state = new RunState(backend, weights.config, { cacheType: type });
    expect(state.cache.type).to.equal(type);
    const out: number[] = [];
    let tok = 1; // BOS
    for (let p = 0; p < n; p++) {
      tok = argmax(forward(weights, state, [tok], p));
      out.push(tok);
    }
    return out;
  }

  for (const type of ["f16", "q8_0"] as const) {
    it(`${type}: logits within ${BOUND[type]} of the f32 cache at every position (prefill and decode), argmax agreeing at >= ${ARGMAX_AGREE[type] * 100} %`, function () {
      let worst = 0;
      let agree = 0;
      let n = 0;
      const V = weights.config.vocabSize;
      for (const seq of ref.sequences) {
        const want = allLogits("f32", seq.tokens);
        const got = allLogits(type, seq.tokens);
        worst = Math.max(worst, maxAbsDiff(got.prefill, want.prefill));
        got.steps.forEach((g, p) => {
          worst = Math.max(worst, maxAbsDiff(g, want.steps[p]!));
          n++;
          if (argmax(g) === argmax(want.steps[p]!)) agree++;
          expect(argmax(got.prefill.subarray(p * V, (p + 1) * V)), `prefill and decode argmax at ${p}`).to.equal(argmax(g));
        });
      }
      this.test!.title += ` (max |Δ| ${worst.toExponential(2)}, argmax ${agree}/${n})`;
      expect(worst).to.be.at.most(BOUND[type]);
      expect(worst, "the cache must actually round").to.be.above(0);
      expect(agree / n).to.be.at.least(ARGMAX_AGREE[type]);
    });

    it(`${type}: greedy generation from BOS identical to the f32 cache for ${GREEDY_TOKENS[type]} tokens`, () => {
      expect(greedy(type, GREEDY_TOKENS[type])).to.deep.equal(greedy("f32", GREEDY_TOKENS[type]));
    });
  }
});
