// Conformance of the engine's loading paths on the shared fixtures: HF folders, runtime LoRA
// (unmerged) against the merged model (fixtures README: runtime LoRA within 1e-3), and the
// Alpaca-Plus stack of two LoRAs.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { loadModel, type LlamaModel } from "@llamats/engine";

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describeConformance("engine: runtime LoRA vs merged models (tiny fixtures)", [
  "tiny/base/config.json", "tiny/lora-llama/adapter_model.bin", "tiny/lora-alpaca/adapter_model.bin",
  "tiny/merged-llama/hf/model.safetensors", "tiny/merged-alpaca-plus/hf/model.safetensors",
], () => {
  const opened: LlamaModel[] = [];
  const open = async (path: string, lora?: string[]) => {
    const m = await loadModel(fixturePath(path), { backend: "ts", lora: lora?.map(fixturePath), nCtx: 64 });
    opened.push(m);
    return m;
  };
  after(() => opened.forEach((m) => m.dispose()));

  it("base + lora-llama at runtime == merged-llama within 1e-3; same tokenizer", async () => {
    const rt = await open("tiny/base", ["tiny/lora-llama"]);
    const merged = await open("tiny/merged-llama/hf");
    expect(rt.config.vocabSize).to.equal(49953);
    const prompt = "为什么要减少污染，保护环境？";
    const ids = rt.tokenize(prompt, { bos: true });
    expect(ids).to.deep.equal(merged.tokenize(prompt, { bos: true }));
    const d = maxAbsDiff(rt.forward(ids, { pos: 0, logits: "all" }), merged.forward(ids, { pos: 0, logits: "all" }));
    expect(d).to.be.lessThan(1e-3);
  });

  it("base + lora-llama + lora-alpaca at runtime == merged-alpaca-plus within 2e-3", async () => {
    const rt = await open("tiny/base", ["tiny/lora-llama", "tiny/lora-alpaca"]);
    const merged = await open("tiny/merged-alpaca-plus/hf");
    expect(rt.config.vocabSize).to.equal(49954);
    const ids = rt.tokenize("Below is an instruction", { bos: true });
    const d = maxAbsDiff(rt.forward(ids, { pos: 0, logits: "all" }), merged.forward(ids, { pos: 0, logits: "all" }));
    expect(d).to.be.lessThan(2e-3);
  });
});

describeConformance("engine: greedy generation on stories260K (llama2.c) equals run.c", ["stories260K/stories260K.bin", "stories260K/reference.json"], () => {
  it("generateIds from BOS, temperature 0, no penalty: the 100 reference ids", async () => {
    const ref = JSON.parse(readFileSync(fixturePath("stories260K/reference.json"), "utf8")) as {
      greedy: { prompt: number[]; steps: number; generated: number[] };
    };
    const m = await loadModel(fixturePath("stories260K/stories260K.bin"), { format: "llama2c", backend: "ts", nCtx: 128 });
    try {
      expect(m.hasTokenizer).to.equal(false);
      const got: number[] = [];
      for await (const id of m.generateIds(ref.greedy.prompt, { temperature: 0, repeatPenalty: 1, maxTokens: ref.greedy.generated.length })) got.push(id);
      expect(got).to.deep.equal(ref.greedy.generated);
      expect(m.lastStats!.stopReason).to.equal("max-tokens");
    } finally {
      m.dispose();
    }
  });
});
