// Perplexity against llama.cpp itself (node-llama-cpp 3.21.1, devDependency): the same chunks
// (BOS first, second half scored) evaluated by llama.cpp give its next-token probabilities
// p = softmax(logits) at every scored position (REFERENCES.md), so its perplexity is
// exp(mean -ln p[next]), the number llama-perplexity prints. Models: the synthetic tiny model
// (F32, F16, Q8_0, Q4_0) on the project's own text, and stories260K (llama2.c, converted to
// GGUF; llama.cpp needs a vocabulary in the file, so a placeholder 512-piece one is written)
// on token ids sampled from the model itself.
import { expect } from "chai";
import { getLlama, type Llama } from "node-llama-cpp";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "@llamats/tensor";
import { gguf, GgufValueType, openModelSource, writeGgufFromSource, dtypePolicy } from "@llamats/formats";
import { describeConformance, fixturePath, repoRoot } from "@llamats/testkit";
import { loadModel, perplexity, planPerplexity, chunkTokens } from "@llamats/engine";
import { cleanupTestDir, testDir, tinyModel } from "./helpers.js";

/** llama.cpp's perplexity of `tokens` (BOS first) through node-llama-cpp. */
/**
 * llama.cpp's settings: "default" is llama-perplexity's (f16 K/V cache, flash attention
 * auto, which the CPU build turns on); "f32" keeps K/V in f32 without flash attention
 * (-ctk f32 -ctv f32 -fa off), the exact float32 computation llamats does.
 */
type LlamaCppMode = "default" | "f32";

async function llamaCppPerplexity(llama: Llama, modelPath: string, tokens: number[], nCtx: number, bosId: number, mode: LlamaCppMode = "default"): Promise<{ ppl: number; count: number }> {
  const lm = await llama.loadModel({ modelPath });
  const ctx = await lm.createContext({
    contextSize: nCtx, threads: 1, batchSize: nCtx,
    ...(mode === "f32" ? { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } as const : {}),
  });
  try {
    const plan = planPerplexity(tokens.length, nCtx);
    let nll = 0;
    let count = 0;
    for (let i = 0; i < plan.nChunk; i++) {
      const chunk = Array.from(chunkTokens(tokens, plan, i, bosId));
      const seq = ctx.getSequence();
      const res = await seq.controlledEvaluate(
        chunk.map((t, k) => (k >= plan.first && k <= nCtx - 2 ? ([t, { generateNext: { probabilities: true } }] as const) : t)) as never,
      );
      for (let k = plan.first; k <= nCtx - 2; k++) {
        const probs = (res[k] as { next: { probabilities: Map<number, number> } }).next.probabilities;
        const p = probs.get(tokens[i * nCtx + k + 1] as never) ?? 0;
        nll -= Math.log(p);
        count++;
      }
      await seq.clearHistory();
      seq.dispose();
    }
    return { ppl: Math.exp(nll / count), count };
  } finally {
    await ctx.dispose();
    await lm.dispose();
  }
}

async function oursPerplexity(path: string, tokens: number[], nCtx: number, bosId: number) {
  const m = await loadModel(path, { backend: "ts", nCtx });
  try {
    return await perplexity(m, tokens, { nCtx, bosId });
  } finally {
    m.dispose();
  }
}

describe("perplexity equals llama.cpp's on the synthetic tiny model", function () {
  this.timeout(600_000);
  after(cleanupTestDir);
  const text = readFileSync(join(repoRoot(), "fixtures/perplexity/river-town.txt"), "utf8");
  // F32/F16: both engines decode the weights exactly; the issue's bound is 0.01 %. Quantised:
  // both quantise activations to Q8_0 per block; the logit bound of the fixtures' tolerance
  // study (Q8_0 0.05, Q4_0 0.5) becomes, on a mean nll, 0.2 % (measured below 0.05 %).
  for (const [type, bound] of [["f32", 1e-4], ["f16", 1e-4], ["q8_0", 2e-3], ["q4_0", 2e-3]] as const) {
    it(`${type}: ppl within ${bound * 100} %`, async () => {
      const path = tinyModel(type, 11);
      const nCtx = 64;
      const m = await loadModel(path, { backend: "ts", nCtx });
      const tokens = m.tokenize(text, { bos: true }).slice(0, 64 * 6 + 17); // 6 chunks and an odd remainder
      const bos = m.tokenizer.bosId;
      m.dispose();
      const llama = await getLlama({ gpu: false, build: "never" });
      const ref = await llamaCppPerplexity(llama, path, tokens, nCtx, bos);
      const ours = await oursPerplexity(path, tokens, nCtx, bos);
      expect(ours.count).to.equal(ref.count);
      const rel = Math.abs(ours.ppl - ref.ppl) / ref.ppl;
      console.log(`      ours ${ours.ppl.toFixed(6)} llama.cpp ${ref.ppl.toFixed(6)} (${(rel * 100).toFixed(5)} %)`);
      expect(rel, `ours ${ours.ppl} llama.cpp ${ref.ppl}`).to.be.lessThan(bound);
    });
  }
});

describeConformance("perplexity equals llama.cpp's on stories260K", ["stories260K/stories260K.bin"], function () {
  this.timeout(600_000);
  after(cleanupTestDir);

  it("F32 GGUF converted from llama2.c: within 0.01 % of llama.cpp with f32 K/V (0.3 % of its f16 default); Q8_0 within the Q8_0 logit bound", async () => {
    const src = await openModelSource(fixturePath("stories260K/stories260K.bin"), { format: "llama2c" });
    // A placeholder SentencePiece vocabulary (specials, 256 byte pieces, numbered pieces):
    // llama.cpp needs one to load the file; evaluation runs on ids only.
    const pieces = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)];
    while (pieces.length < 512) pieces.push(`▁p${pieces.length}`);
    const vocabKv = [
      gguf.str("tokenizer.ggml.model", "llama"),
      gguf.array("tokenizer.ggml.tokens", GgufValueType.STRING, pieces),
      gguf.array("tokenizer.ggml.scores", GgufValueType.FLOAT32, pieces.map((_, i) => -i)),
      gguf.array("tokenizer.ggml.token_type", GgufValueType.INT32, pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1))),
      gguf.u32("tokenizer.ggml.bos_token_id", 1),
      gguf.u32("tokenizer.ggml.eos_token_id", 2),
      gguf.u32("tokenizer.ggml.unknown_token_id", 0),
    ];
    // ffn_down rows hold 172 values (hidden size), not a whole number of blocks: they stay F32.
    const q8Policy = dtypePolicy(GGMLType.Q8_0);
    const f32 = join(testDir(), "stories260K-f32.gguf");
    const q8 = join(testDir(), "stories260K-q8_0.gguf");
    try {
      writeGgufFromSource(src, f32, { extraMetadata: vocabKv, tokenizer: false });
      writeGgufFromSource(src, q8, { extraMetadata: vocabKv, tokenizer: false, typeFor: (t) => (t.shape[t.shape.length - 1] % 32 === 0 ? q8Policy(t) : GGMLType.F32) });
    } finally {
      src.close();
    }
    // Token ids: a seeded sample of the model itself (story-like text), BOS first.
    const nCtx = 96;
    const m = await loadModel(f32, { backend: "ts", nCtx: 512 });
    const tokens = [1];
    for await (const id of m.generateIds([1], { maxTokens: 4 * nCtx + 30, temperature: 1, topK: 0, topP: 1, repeatPenalty: 1, seed: 5, eosId: -1 })) tokens.push(id);
    m.dispose();
    expect(tokens.length).to.be.greaterThan(4 * nCtx);
    const llama = await getLlama({ gpu: false, build: "never" });
    // With llama.cpp's defaults (f16 K/V, flash attention) its logits here are off the exact
    // float32 computation: up to 0.0165 in log-probability from llama2.c run.c's float32
    // reference on its sequences, against 2.4e-5 for llama.cpp with f32 K/V and no flash
    // attention and 1.2e-5 for llamats (measured). The later chunks are confidently wrong
    // (running ppl 18 -> 788), which turns that into 0.15 % of perplexity.
    for (const [path, kv, bound] of [[f32, "f32", 1e-4], [f32, "default", 3e-3], [q8, "f32", 0.02]] as const) {
      const ref = await llamaCppPerplexity(llama, path, tokens, nCtx, 1, kv);
      const ours = await oursPerplexity(path, tokens, nCtx, 1);
      // F32: relative difference of perplexity. Q8_0: |ln(ppl / ppl_ref)| = |Δ mean nll| within
      // a third of the Q8_0 logit bound of the fixtures' tolerance study (0.05; measured 0.007 here).
      const rel = path === q8 ? Math.abs(Math.log(ours.ppl / ref.ppl)) : Math.abs(ours.ppl - ref.ppl) / ref.ppl;
      console.log(`      ${path.split("/").pop()} llama.cpp ${kv}: ours ${ours.ppl.toFixed(6)} llama.cpp ${ref.ppl.toFixed(6)} (${path === q8 ? `|Δ ln ppl| ${rel.toFixed(5)}` : `${(rel * 100).toFixed(5)} %`})`);
      expect(rel, `${path}: ours ${ours.ppl} llama.cpp ${ref.ppl}`).to.be.lessThan(bound);
    }
  });
});
