// A whole model on the GPU: stories260K (llama2.c, GQA, tied classifier) through GpuModel
// within 1e-3 of the reference forward pass at every position, prefill and decode, and
// the greedy continuation identical; quantised weights against the reference with the
// dequantised weights.
import { expect } from "chai";
import { configFromSource, openModelSource } from "@llamats/formats";
import { type LlamaWeights, RunState, forward, loadWeights } from "@llamats/model";
import { ReferenceBackend } from "@llamats/tensor";
import { quantKernels } from "@llamats/quant";
import { argmax, fixturePath, haveFixtures, isCI, maxAbsDiff } from "@llamats/testkit";
import { GpuModel, GpuRuntime } from "../src/index.js";
import { gpuModes } from "./helpers.js";

const tokens = [1, 403, 407, 261, 378, 426, 260, 275, 443, 284, 302, 273];


for (const mode of gpuModes()) {
  describe(`backend-gpu model (${mode})`, function () {
    const ref = new ReferenceBackend({ kernels: quantKernels });
    let rt: GpuRuntime | undefined;
    let weights: LlamaWeights;

    before(async function () {
      if (!haveFixtures("stories260K/stories260K.bin")) {
        this.test!.parent!.title += " — skipped: fixtures not found (set LLAMATS_FIXTURES)";
        this.skip();
      }
      try {
        rt = await GpuRuntime.create({ mode });
      } catch (err) {
        if (mode === "webgpu" && !isCI()) {
          this.test!.parent!.title += ` — skipped: ${(err as Error).message}`;
          this.skip();
        }
        throw err;
      }
      const src = await openModelSource(fixturePath("stories260K/stories260K.bin"), { format: "llama2c" });
      try {
        weights = loadWeights(src, ref, configFromSource(src));
      } finally {
        src.close();
      }
    });
    after(async () => rt?.destroy());

    it("stories260K: logits within 1e-3 of the reference at every position (prefill in chunks, then decode)", async function () {
      const V = weights.config.vocabSize;
      const state = new RunState(ref, weights.config);
      const want = forward(weights, state, tokens, 0, { logits: "all" });
      const m = await GpuModel.create(rt!, weights, { nCtx: 64, maxBatch: 5 });
      try {
        const prefill = await m.forward(tokens.slice(0, 8), 0, { logits: "all" });
        let worst = maxAbsDiff(prefill, want.subarray(0, 8 * V));
        for (let p = 8; p < tokens.length; p++) {
          const one = await m.forward([tokens[p]], p);
          worst = Math.max(worst, maxAbsDiff(one, want.subarray(p * V, (p + 1) * V)));
          expect(argmax(one)).to.equal(argmax(want.subarray(p * V, (p + 1) * V)));
        }
        this.test!.title += ` (max |Δ| ${worst.toExponential(2)})`;
        expect(worst).to.be.below(1e-3);
        expect(m.nPast).to.equal(tokens.length);
      } finally {
        m.dispose();
      }
    });

    it("stories260K: greedy continuation from BOS equals the reference's (24 tokens)", async () => {
      const m = await GpuModel.create(rt!, weights, { nCtx: 32 });
      const state = new RunState(ref, weights.config);
      try {
        let a = 1;
        let b = 1;
        for (let p = 0; p < 24; p++) {
          a = argmax(forward(weights, state, [a], p));
          b = argmax(await m.forward([b], p));
          expect(b, `step ${p}`).to.equal(a);
        }
      } finally {
        m.dispose();
      }
    });

    it("rejects a gap in positions and an id outside the vocabulary with a LlamatsError", async () => {
      const m = await GpuModel.create(rt!, weights, { nCtx: 16 });
      try {
        const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => e);
        expect((await errorOf(m.forward([1], 3)))?.message).to.match(/position 3 is invalid/);
        expect((await errorOf(m.forward([1, 99999], 0)))?.message).to.match(/outside the vocabulary/);
        expect((await errorOf(m.forward(Array(17).fill(1), 0)))?.message).to.match(/KV cache full/);
      } finally {
        m.dispose();
      }
    });
  });
}
