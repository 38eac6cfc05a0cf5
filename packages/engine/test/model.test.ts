import { expect } from "chai";
import { LlamatsError } from "@llamats/tensor";
import { loadModel, createBackend, argmax, type LlamaModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

async function text(m: LlamaModel, prompt: string, opts: Parameters<LlamaModel["generate"]>[1]): Promise<{ text: string; pieces: string[] }> {
  const pieces: string[] = [];
  for await (const p of m.generate(prompt, opts)) pieces.push(p);
  return { text: pieces.join(""), pieces };
}

describe("LlamaModel on the synthetic tiny model", function () {
  let m: LlamaModel;
  before(async () => {
    m = await loadModel(tinyModel("q8_0"), { backend: "ts", nCtx: 32 });
  });
  after(() => {
    m?.dispose();
    cleanupTestDir();
  });

  it("exposes config and tokenizer", () => {
    expect(m.config.embeddingLength).to.equal(256);
    expect(m.config.headCountKv).to.equal(4);
    expect(m.nCtx).to.equal(32);
    const ids = m.tokenize("Hello 中国", { bos: true });
    expect(ids[0]).to.equal(1);
    expect(m.detokenize(ids)).to.equal("Hello 中国");
  });

  it("greedy generation is deterministic and stops at max tokens", async () => {
    const a = await text(m, "Once upon a time", { temperature: 0, maxTokens: 12 });
    expect(m.lastStats!.generatedTokens).to.equal(12);
    expect(m.lastStats!.stopReason).to.equal("max-tokens");
    m.reset();
    const b = await text(m, "Once upon a time", { temperature: 0, maxTokens: 12 });
    expect(b.text).to.equal(a.text);
    expect(a.text.length).to.be.greaterThan(0);
    // the streamed text is the decoded continuation
    const gen = m.lastStats!.ids.slice(m.lastStats!.promptTokens);
    expect(a.text.trimStart()).to.equal(m.detokenize(gen));
  });

  it("the first greedy token is the argmax of forward()'s logits", async () => {
    const ids = m.tokenize("Once upon a time", { bos: true });
    m.reset();
    const logits = m.forward(ids, { pos: 0 });
    expect(logits.length).to.equal(m.config.vocabSize);
    m.reset();
    await text(m, "Once upon a time", { temperature: 0, repeatPenalty: 1, maxTokens: 1 });
    expect(m.lastStats!.ids[ids.length]).to.equal(argmax(logits));
  });

  it("forward: all-position logits end with the last-position logits; a copy each time", () => {
    const ids = [1, 300, 400, 500];
    const all = m.forward(ids, { pos: 0, logits: "all" });
    expect(all.length).to.equal(4 * m.config.vocabSize);
    const last = m.forward(ids, { pos: 0 });
    const v = m.config.vocabSize;
    let maxDiff = 0;
    for (let i = 0; i < v; i++) maxDiff = Math.max(maxDiff, Math.abs(all[3 * v + i] - last[i]));
    expect(maxDiff).to.be.lessThan(1e-4);
    const again = m.forward([600], {});
    expect(again).to.not.equal(last);
    expect(m.nPast).to.equal(5);
  });

  it("seeded sampling is reproducible", async () => {
    m.reset();
    const a = await text(m, "Hello", { temperature: 0.9, seed: 42, maxTokens: 10 });
    m.reset();
    const b = await text(m, "Hello", { temperature: 0.9, seed: 42, maxTokens: 10 });
    expect(b.text).to.equal(a.text);
  });

  it("reuses the KV cache for a prompt that extends the last sequence", async () => {
    m.reset();
    await text(m, "Once upon a time", { temperature: 0, maxTokens: 3 });
    await text(m, "Once upon a time there was", { temperature: 0, maxTokens: 3 });
    const s = m.lastStats!;
    expect(s.promptTokensEvaluated).to.be.lessThan(s.promptTokens);
  });

  it("an AbortSignal stops generation between tokens", async () => {
    const ac = new AbortController();
    let n = 0;
    for await (const _ of m.generate("Hello", { temperature: 0.8, maxTokens: 100, signal: ac.signal })) {
      if (++n === 2) ac.abort();
    }
    expect(m.lastStats!.stopReason).to.equal("aborted");
    expect(m.lastStats!.generatedTokens).to.be.lessThan(100);
  });

  it("stops when the context is full", async () => {
    m.reset();
    await text(m, "Hello", { temperature: 0, maxTokens: 1000 });
    expect(m.lastStats!.stopReason).to.equal("context-full");
    expect(m.lastStats!.ids.length).to.equal(32);
  });

  it("--alpha: NTK scaling changes the RoPE base, alpha 1 changes nothing", async () => {
    const ids = [1, 300, 400, 500, 600, 700];
    m.reset();
    const plain = m.forward(ids, { pos: 0 });
    const a1 = await loadModel(tinyModel("q8_0"), { backend: "ts", nCtx: 16, alpha: 1 });
    const a2 = await loadModel(tinyModel("q8_0"), { backend: "ts", nCtx: 16, alpha: 2 });
    try {
      expect(a2.config.ropeScaling).to.deep.equal({ type: "ntk", alpha: 2 });
      expect(Array.from(a1.forward(ids, { pos: 0 }))).to.deep.equal(Array.from(plain));
      const l2 = a2.forward(ids, { pos: 0 });
      let d = 0;
      for (let i = 0; i < l2.length; i++) d = Math.max(d, Math.abs(l2[i] - plain[i]));
      expect(d).to.be.greaterThan(1e-4);
    } finally {
      a1.dispose();
      a2.dispose();
    }
  });

  it("bad input is a LlamatsError", async () => {
    await loadModel("/nonexistent/model.gguf").then(
      () => expect.fail("loaded a missing file"),
      (e) => expect(e).to.be.instanceOf(LlamatsError),
    );
    await loadModel(tinyModel("q8_0"), { format: "onnx" }).then(
      () => expect.fail("accepted an unknown format"),
      (e) => expect(e).to.be.instanceOf(LlamatsError),
    );
    await createBackend("gpu").then(
      () => expect.fail("gpu"),
      (e) => expect(String(e.message)).to.match(/loadModel\(path, \{ backend: "gpu" \}\)/),
    );
    expect(() => m.forward([m.config.vocabSize], { pos: 0 })).to.throw(LlamatsError);
  });
});
