// Interop: llama.cpp (node-llama-cpp, devDependency) loads our synthetic GGUF, tokenizes like
// our tokenizer, and its next-token distribution matches our forward pass. With temperature-0
// probabilities p = softmax(logits), so ln p_i - ln p_j = logit_i - logit_j (REFERENCES.md):
// we compare logits up to a constant over the tokens llama.cpp reports with p > 1e-6.
import { expect } from "chai";
import { getLlama } from "node-llama-cpp";
import { loadModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

describe("llama.cpp agreement on the synthetic tiny model", function () {
  after(cleanupTestDir);

  for (const type of ["f16", "q8_0"]) {
    it(`${type}: same token ids, next-token logits within bound`, async () => {
      const path = tinyModel(type, 7);
      const llama = await getLlama({ gpu: false, build: "never" });
      const lm = await llama.loadModel({ modelPath: path });
      const ours = await loadModel(path, { backend: "ts", nCtx: 64 });
      try {
        const text = "Once upon a time, 为什么要减少污染，保护环境？ hello 😀";
        const ids = ours.tokenize(text, { bos: true });
        expect([1, ...lm.tokenize(text).map(Number)]).to.deep.equal(ids);
        const ctx = await lm.createContext({ contextSize: 64, threads: 1 });
        try {
          const seq = ctx.getSequence();
          const res = await seq.controlledEvaluate(
            ids.map((t, i) => (i === ids.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t)) as never,
          );
          const probs = (res[res.length - 1] as { next?: { probabilities?: Map<number, number> } }).next!.probabilities!;
          const logits = ours.forward(ids, { pos: 0 });
          const ref = Number([...probs.entries()][0][0]); // llama.cpp's most likely token
          let maxDiff = 0;
          let n = 0;
          for (const [tok, p] of probs) {
            if (p < 1e-6) continue;
            const d = Math.abs(Math.log(p) - Math.log(probs.get(ref)!) - (logits[Number(tok)] - logits[ref]));
            maxDiff = Math.max(maxDiff, d);
            n++;
          }
          expect(n).to.be.greaterThan(100);
          // f16: both decode weights exactly; llama.cpp's f16 KV cache and summation order
          // remain. q8_0: activation quantisation to Q8_0 on both sides amplifies those
          // differences (measured: ~1e-3 for f16, ~0.023 for q8_0; fixtures' Q8_0 bound: 0.05).
          expect(maxDiff, `max |Δ logit| ${maxDiff}`).to.be.lessThan(type === "f16" ? 5e-3 : 5e-2);
        } finally {
          await ctx.dispose();
        }
      } finally {
        ours.dispose();
        await lm.dispose();
      }
    });
  }
});
