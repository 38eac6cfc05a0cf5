// Conformance: stories260K (llama2.c .bin, GQA 8 heads / 4 KV heads, shared classifier)
// against llama2.c run.c's float32 logits at every position (fixture README: 1e-3, argmax
// and greedy identical).
import { expect } from "chai";
import { type LlamaWeights, RunState, forward } from "@llamats/model";
import { ReferenceBackend } from "@llamats/tensor";
import { argmax, describeConformance, topK } from "@llamats/testkit";
import { maxAbsDiff } from "./helpers/golden.js";
import { STORIES260K_FILES, type Stories260KReference, loadStories260K } from "./helpers/stories260k.js";

describeConformance("model/stories260K vs llama2.c", STORIES260K_FILES, () => {
  const backend = new ReferenceBackend();
  let weights: LlamaWeights;
  let ref: Stories260KReference;
  before(async () => {
    ({ weights, ref } = await loadStories260K(backend));
  });

  it("config from the llama2.c header (GQA 8/4, tied classifier)", () => {
    expect(weights.config).to.include({ embeddingLength: 64, feedForwardLength: 172, blockCount: 5, headCount: 8, headCountKv: 4, keyLength: 8, vocabSize: 512, contextLength: 512, layerNormRmsEpsilon: 1e-5 });
    expect(Buffer.from(weights.output.bytes).equals(Buffer.from(weights.tokenEmbd.bytes))).to.equal(true);
  });

  it("logits at every position within 1e-3, prefill and one token at a time", function () {
    let worst = 0;
    for (const seq of ref.sequences) {
      const n = seq.tokens.length;
      const V = weights.config.vocabSize;
      // Batched prefill with all logits.
      const state = new RunState(backend, weights.config, { maxBatch: 16 });
      const all = forward(weights, state, seq.tokens, 0, { logits: "all" });
      // The same tokens one at a time through the KV cache.
      const step = new RunState(backend, weights.config);
      for (let p = 0; p < n; p++) {
        const want = seq.logits[p];
        const got = all.subarray(p * V, (p + 1) * V);
        worst = Math.max(worst, maxAbsDiff(got, want));
        expect(argmax(got), `${seq.name} argmax at ${p}`).to.equal(seq.argmax[p]);
        const one = forward(weights, step, [seq.tokens[p]], p);
        worst = Math.max(worst, maxAbsDiff(one, want));
      }
    }
    this.test!.title += ` (max |Δ| ${worst.toExponential(2)})`;
    expect(worst).to.be.at.most(1e-3);
  });

  it("greedy continuation from BOS is identical (100 tokens)", () => {
    const state = new RunState(backend, weights.config);
    const out: number[] = [];
    let tok = ref.greedy.prompt[0];
    for (let p = 0; p < ref.greedy.steps; p++) {
      tok = argmax(forward(weights, state, [tok], p));
      out.push(tok);
    }
    expect(out).to.deep.equal(ref.greedy.generated);
  });
});
