// A GGUF we write must load in llama.cpp (node-llama-cpp, CPU prebuilt binaries): convert
// tiny/base (HF) and check vocabulary size, tensor count and tokenisation there.
import { expect } from "chai";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { openGguf, openModelSource, openSafetensors, writeGgufFromSource } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("llamacpp");
after(() => tmp.cleanup());

describeConformance("llama.cpp loads the GGUF we write", ["tiny/base/model.safetensors", "tiny/base/tokenizer.model", "tiny/base/config.json", "tiny/golden/base.safetensors"], () => {
  it("tiny/base -> GGUF loads, has 32000 tokens and 21 tensors, tokenises like SentencePiece, and gives PyTorch's logits", async function () {
    this.timeout(120000);
    const src = await openModelSource(fixturePath("tiny/base"));
    const out = tmp.path("tiny-base-f16.gguf");
    writeGgufFromSource(src, out);
    src.close();
    const g = openGguf(out);
    expect(g.tensors).to.have.length(21);
    g.close();

    const { getLlama } = await import("node-llama-cpp");
    const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" as never });
    const model = await llama.loadModel({ modelPath: out });
    try {
      expect(model.fileInfo.tensorInfo?.length).to.equal(21);
      expect(model.fileInsights.totalLayers).to.be.greaterThan(0);
      expect(model.tokens.bos).to.equal(1);
      expect(model.tokens.eos).to.equal(2);
      const ids = model.tokenize("Hello world");
      // LLaMA's SentencePiece: "▁Hello" 15043, "▁world" 3186
      expect(Array.from(ids)).to.deep.equal([15043, 3186]);
      expect(model.detokenize(ids)).to.equal("Hello world");
      const md = model.fileInfo.metadata as unknown as { llama: { vocab_size: number; block_count: number } };
      expect(md.llama.vocab_size).to.equal(32000);
      expect(md.llama.block_count).to.equal(2);
      // End to end through llama.cpp's forward pass: PyTorch's golden logits (f32 math on the
      // same f16 weights) at the stored positions of the Alpaca prompt. A wrong Q/K layout
      // moves these by whole units (the fixture's q/k weights are large on purpose).
      const golden = openSafetensors(fixturePath("tiny/golden/base.safetensors"));
      const i32 = (n: string) => Array.from(new Int32Array(golden.readTensor(n).slice().buffer));
      const tokens = i32("prompt.tokens");
      const positions = i32("prompt.logits_pos");
      const logits = new Float32Array(golden.readTensor("prompt.logits").slice().buffer); // (positions, vocab)
      const lse = new Float32Array(golden.readTensor("prompt.logsumexp").slice().buffer);
      golden.close();
      const ctx = await model.createContext({ contextSize: 128, threads: 1 });
      try {
        const items = tokens.map((id, i) => (positions.includes(i) ? [id, { generateNext: { probabilities: true } }] : id));
        const res = await ctx.getSequence().controlledEvaluate(items as never);
        let worst = 0;
        positions.forEach((pos, k) => {
          const probs = res[pos]!.next!.probabilities!;
          const top = [...probs.entries()].slice(0, 20);
          for (const [id, p] of top) {
            const want = logits[k * 32000 + id] - lse[pos];
            worst = Math.max(worst, Math.abs(Math.log(p) - want));
          }
          // llama.cpp's most likely token is PyTorch's argmax (or within 0.02 of it)
          const best = top[0][0];
          let argmax = 0;
          for (let v = 1; v < 32000; v++) if (logits[k * 32000 + v] > logits[k * 32000 + argmax]) argmax = v;
          expect(logits[k * 32000 + argmax] - logits[k * 32000 + best]).to.be.below(0.02);
        });
        expect(worst).to.be.below(0.02);
      } finally {
        await ctx.dispose();
      }
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });
});
