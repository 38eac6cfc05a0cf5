// The penalties held to llama.cpp itself (node-llama-cpp, devDependency): greedy generation
// on the synthetic tiny model with repetition / frequency / presence penalties over every id
// of the sequence (llama.cpp given the whole history as its penalty tokens) gives llama.cpp's
// ids. The prompt repeats the model's own greedy continuation, so its favourites are all in
// the history and the penalties decide the ids (checked: they change them).
import { expect } from "chai";
import { getLlama } from "node-llama-cpp";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

describe("penalties vs llama.cpp's sampler (node-llama-cpp, synthetic tiny model)", function () {
  after(cleanupTestDir);

  async function ours(m: LlamaModel, prompt: number[], o: { penalty: number; frequencyPenalty?: number; presencePenalty?: number }, n: number): Promise<number[]> {
    m.reset();
    const got: number[] = [];
    for await (const id of m.generateIds(prompt, { temperature: 0, repeatPenalty: o.penalty, frequencyPenalty: o.frequencyPenalty ?? 0, presencePenalty: o.presencePenalty ?? 0, maxTokens: n })) got.push(id);
    return got;
  }

  it("greedy with penalties on: the same 24 ids as llama.cpp", async () => {
    const path = tinyModel("f16", 7);
    const m = await loadModel(path, { backend: "ts", nCtx: 128 });
    const llama = await getLlama({ gpu: false, build: "never" });
    const lm = await llama.loadModel({ modelPath: path });
    try {
      const p0 = m.tokenize("Once upon a time there was a little girl who", { bos: true });
      const g0 = await ours(m, p0, { penalty: 1 }, 24);
      const prompt = [...p0, ...g0, ...g0.slice(0, 4)];
      const settings = [
        { penalty: 1 },
        { penalty: 1.3 },
        { penalty: 1, frequencyPenalty: 0.8 },
        { penalty: 1, presencePenalty: 1.2 },
        { penalty: 1.2, frequencyPenalty: 0.3, presencePenalty: 0.4 },
      ];
      const results: number[][] = [];
      for (const pen of settings) {
        const ctx = await lm.createContext({ contextSize: 128, threads: 1 });
        try {
          const history = [...prompt];
          const ref: number[] = [];
          const seq = ctx.getSequence();
          for await (const t of seq.evaluate(prompt as never, { temperature: 0, repeatPenalty: { punishTokens: () => history as never, ...pen } })) {
            ref.push(Number(t));
            history.push(Number(t));
            if (ref.length === 24) break;
          }
          const got = await ours(m, prompt, pen, 24);
          expect(got, JSON.stringify(pen)).to.deep.equal(ref);
          results.push(got);
        } finally {
          await ctx.dispose();
        }
      }
      for (const r of results.slice(1)) expect(r).to.not.deep.equal(results[0]); // the penalties bit
    } finally {
      m.dispose();
      await lm.dispose();
    }
  });
});
