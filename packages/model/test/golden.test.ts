// Conformance: our forward pass against a float32 PyTorch LLaMA (transformers-4.30 math) on
// the tiny models, fixtures tiny/golden (README: f32 engines within 1e-5, 2e-5 at 2304 tokens).
import { expect } from "chai";
import { openModelSource, configFromSource } from "@llamats/formats";
import { type LlamaWeights, RunState, forward, loadWeights } from "@llamats/model";
import { ReferenceBackend, ntkScaling, withRopeScaling } from "@llamats/tensor";
import { argmax, describeConformance, fixturePath, topK } from "@llamats/testkit";
import { type GoldenIndexCase, goldenIndex, logSumExp, maxAbsDiff, readGoldenCase } from "./helpers/golden.js";

const MODELS = { base: "tiny/base", "merged-llama": "tiny/merged-llama/hf", "merged-alpaca-plus": "tiny/merged-alpaca-plus/hf" } as const;
const CASES = ["bos", "prompt", "random200", "ntk2_random300", "ntkauto_random2304"] as const;

describeConformance("model/golden: tiny LLaMA vs PyTorch float32", ["tiny/golden/index.json", ...Object.keys(MODELS).map((m) => `tiny/golden/${m}.safetensors`), ...Object.values(MODELS)], () => {
  const backend = new ReferenceBackend();
  const index = goldenIndex();
  for (const [model, dir] of Object.entries(MODELS)) {
    describe(model, () => {
      let weights: LlamaWeights;
      before(async () => {
        const src = await openModelSource(fixturePath(dir));
        try {
          weights = loadWeights(src, backend, configFromSource(src));
        } finally {
          src.close();
        }
      });

      it("config matches index.json", () => {
        const c = index.models[model];
        expect(weights.config.vocabSize).to.equal(c.vocab_size);
        expect(weights.config).to.include({ embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 4, keyLength: 16, feedForwardLength: 172, layerNormRmsEpsilon: 1e-6, contextLength: 2048 });
      });

      for (const name of CASES) {
        const meta = (): GoldenIndexCase => index.models[model].cases[name];
        it(`${name}: logits, hidden states, argmax, top-5, greedy`, function () {
          const g = readGoldenCase(model, name);
          const m = meta();
          const rope = m.rope.mode === "ntk" ? ntkScaling(m.rope.alpha!) : m.rope.mode === "auto" ? ntkScaling("auto") : ntkScaling(1);
          const w: LlamaWeights = { ...weights, config: withRopeScaling(weights.config, rope) };
          const cfg = w.config;
          const n = g.tokens.length;
          const tol = n > 2048 ? 2e-5 : 1e-5;
          const state = new RunState(backend, cfg, { nCtx: n + 32, maxBatch: 512 });
          forward(w, state, g.tokens, 0, { capture: { hidden: true }, logits: "none" });
          const hidden = state.captured.hiddenFinal!;
          const dHidden = maxAbsDiff(hidden, g.hiddenFinal);
          // Layer outputs: all positions, or those in layer_out_pos.
          const lo = state.captured.layerOut!;
          const pos = g.layerOutPos ?? Int32Array.from({ length: n }, (_, i) => i);
          let dLayer = 0;
          for (let l = 0; l < cfg.blockCount; l++)
            for (let i = 0; i < pos.length; i++)
              dLayer = Math.max(dLayer, maxAbsDiff(lo.subarray((l * n + pos[i]) * cfg.embeddingLength), g.layerOut.subarray((l * pos.length + i) * cfg.embeddingLength), cfg.embeddingLength));
          // Logits at the stored positions, argmax / logsumexp there and at every 9th (97th) position,
          // in one batched product (the lm_head is read once).
          const V = cfg.vocabSize;
          const every = n > 400 ? 97 : 9;
          const statPos = [...new Set([...g.logitsPos, ...Array.from({ length: Math.ceil(n / every) }, (_, i) => i * every)])];
          const xs = new Float32Array(statPos.length * cfg.embeddingLength);
          statPos.forEach((p, i) => xs.set(hidden.subarray(p * cfg.embeddingLength, (p + 1) * cfg.embeddingLength), i * cfg.embeddingLength));
          const all = new Float32Array(statPos.length * V);
          backend.matmul(all, w.output, xs, statPos.length);
          let dLogits = 0;
          let dLse = 0;
          statPos.forEach((p, i) => {
            const logits = all.subarray(i * V, (i + 1) * V);
            const k = g.logitsPos.indexOf(p);
            if (k >= 0) dLogits = Math.max(dLogits, maxAbsDiff(logits, g.logits.subarray(k * V, (k + 1) * V)));
            expect(argmax(logits), `argmax at ${p}`).to.equal(g.argmax[p]);
            dLse = Math.max(dLse, Math.abs(logSumExp(logits) - g.logsumexp[p]));
            // Top-5 values; ids where the golden values are not within 2·tol of a neighbour.
            const top = topK(logits, 5);
            for (let j = 0; j < 5; j++) {
              const gv = g.top5Vals[p * 5 + j];
              expect(top.values[j], `top5 value ${j} at ${p}`).to.be.closeTo(gv, tol);
              const clear = (j === 0 || g.top5Vals[p * 5 + j - 1] - gv > 2 * tol) && (j === 4 || gv - g.top5Vals[p * 5 + j + 1] > 2 * tol);
              if (clear) expect(top.indices[j], `top5 id ${j} at ${p}`).to.equal(g.top5Ids[p * 5 + j]);
            }
          });
          this.test!.title += ` (max |Δ| logits ${dLogits.toExponential(2)}, hidden ${dHidden.toExponential(2)}, layers ${dLayer.toExponential(2)})`;
          expect(dHidden, "hidden_final").to.be.at.most(tol);
          expect(dLayer, "layer_out").to.be.at.most(tol);
          expect(dLogits, "logits").to.be.at.most(tol);
          expect(dLse, "logsumexp").to.be.at.most(tol * 2);

          if (!g.greedyIds) return;
          // Greedy continuation through the KV cache, one token at a time. Teacher-forced on the
          // golden ids so that a flagged near-tie step cannot derail the rest of the comparison.
          const ties = new Set(m.greedy_near_tie_steps ?? []);
          let last: Float32Array = new Float32Array(V);
          backend.matmul(last, w.output, hidden.subarray((n - 1) * cfg.embeddingLength), 1);
          for (let s = 0; s < g.greedyIds.length; s++) {
            const ours = argmax(last);
            if (!ties.has(s)) expect(ours, `greedy step ${s}`).to.equal(g.greedyIds[s]);
            last = forward(w, state, [g.greedyIds[s]], n + s);
          }
          expect(maxAbsDiff(last, g.greedyFinalLogits!), "greedy_final_logits").to.be.at.most(tol);
        });
      }
    });
  }
});
