// A GGUF we write must load in llama.cpp (node-llama-cpp, CPU prebuilt binaries): convert
// tiny/base (HF) and check vocabulary size, tensor count and tokenisation there.
import { expect } from "chai";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { openGguf, openModelSource, writeGgufFromSource } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("llamacpp");
after(() => tmp.cleanup());

describeConformance("llama.cpp loads the GGUF we write", ["tiny/base/model.safetensors", "tiny/base/tokenizer.model", "tiny/base/config.json"], () => {
  it("tiny/base -> GGUF loads, has 32000 tokens and 21 tensors, and tokenises like SentencePiece", async function () {
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
      const ctx = await model.createContext({ contextSize: 64, threads: 1 });
      await ctx.dispose();
    } finally {
      await model.dispose();
      await llama.dispose();
    }
  });
});
