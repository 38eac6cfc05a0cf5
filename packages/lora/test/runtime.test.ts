// Runtime LoRA: base weights + loadLoraDeltas (W x + s·B(A x), Q/K B rows permuted to the
// interleaved layout) give the logits of the merged model (fixture study: 1e-3).
import { expect } from "chai";
import { openModelSourceSync, type ModelSource, configFromSource } from "@llamats/formats";
import { buildWeights, forward, RunState, type LayerWeights, type LlamaWeights, type RawTensor } from "@llamats/model";
import { loadLoraDeltas, loadLoraStack, mergeLoras, type RuntimeLora } from "@llamats/lora";
import { join } from "node:path";
import { makeTmp } from "./helpers/tmp.js";
import { GGMLType, ReferenceBackend } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";

function readAll(src: ModelSource): Map<string, RawTensor> {
  return new Map(src.tensors.map((t) => [t.name, { type: t.type, shape: t.shape, bytes: src.read(t.name).slice() }]));
}

function weightsFrom(dir: string, lora?: RuntimeLora): LlamaWeights {
  const src = openModelSourceSync(dir.startsWith("/") ? dir : fixturePath(dir));
  try {
    const tensors = readAll(src);
    const base = configFromSource(src);
    const config = { ...base, vocabSize: lora?.vocabSize ?? base.vocabSize };
    const w = buildWeights(config, (name) => lora?.replacements.get(name) ?? tensors.get(name), dir);
    if (!lora) return w;
    const layers = w.layers.map((l, i): LayerWeights => {
      const with_ = (kind: string, lin: LayerWeights["attnQ"]) => ({ ...lin, loras: lora.deltas.get(`blk.${i}.${kind}.weight`) });
      return {
        ...l, attnQ: with_("attn_q", l.attnQ), attnK: with_("attn_k", l.attnK), attnV: with_("attn_v", l.attnV),
        attnOutput: with_("attn_output", l.attnOutput), ffnGate: with_("ffn_gate", l.ffnGate), ffnDown: with_("ffn_down", l.ffnDown), ffnUp: with_("ffn_up", l.ffnUp),
      };
    });
    return { ...w, layers };
  } finally {
    src.close();
  }
}

const TOKENS = [1, 32001, 32002, 3155, 29871, 40000, 49000, 13, 1724, 29889];

function logits(w: LlamaWeights): Float32Array {
  const be = new ReferenceBackend();
  const state = new RunState(be, w.config, { nCtx: 32, maxBatch: 16 });
  return forward(w, state, TOKENS, 0, { logits: "all" });
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describeConformance("lora/runtime: unmerged LoRA logits match the merged model", [
  "tiny/base/model.safetensors", "tiny/lora-llama/adapter_model.bin", "tiny/lora-alpaca/adapter_model.bin",
  "tiny/merged-llama/hf/model.safetensors", "tiny/merged-alpaca-plus/hf/model.safetensors",
], () => {
  it("loadLoraDeltas: canonical names, shapes, scale, replacements", () => {
    const d = loadLoraDeltas(fixturePath("tiny/lora-llama"), { headCount: 4 });
    expect(d.deltas.size).to.equal(14);
    const q = d.deltas.get("blk.0.attn_q.weight")![0];
    expect(q.a).to.include({ type: GGMLType.F32, rows: 8, cols: 64 });
    expect(q.b).to.include({ type: GGMLType.F32, rows: 64, cols: 8 });
    expect(q.scale).to.equal(4);
    expect(d.deltas.get("blk.1.ffn_down.weight")![0].a.cols).to.equal(172);
    expect(d.vocabSize).to.equal(49953);
    expect(d.replacements.get("output.weight")!.shape).to.deep.equal([49953, 64]);
  });

  it("base + lora-llama at runtime = merged-llama (1e-3)", () => {
    const runtime = logits(weightsFrom("tiny/base", loadLoraDeltas(fixturePath("tiny/lora-llama"), { headCount: 4 })));
    const merged = logits(weightsFrom("tiny/merged-llama/hf"));
    const d = maxAbs(runtime, merged);
    expect(d).to.be.below(1e-3);
    expect(d).to.be.above(0); // really unmerged: f16 rounding of the merge differs a little
  });

  it("base + lora-llama + lora-alpaca at runtime (F16 factors) = merged-alpaca-plus (1e-3)", () => {
    const stack = loadLoraStack([fixturePath("tiny/lora-llama"), fixturePath("tiny/lora-alpaca")], { headCount: 4 }, { type: GGMLType.F16 });
    expect(stack.deltas.get("blk.0.attn_k.weight")!.length).to.equal(2);
    const runtime = logits(weightsFrom("tiny/base", stack));
    const merged = logits(weightsFrom("tiny/merged-alpaca-plus/hf"));
    expect(maxAbs(runtime, merged)).to.be.below(1e-3);
  });

  it("merge -> GGUF -> run: the merged GGUF gives the merged HF model's logits", () => {
    const tmp = makeTmp("run");
    try {
      const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama"), fixturePath("tiny/lora-alpaca")], outputType: "gguf", out: join(tmp.dir, "m") });
      const fromGguf = logits(weightsFrom(join(s.out, "ggml-model-f16.gguf")));
      const fromHf = logits(weightsFrom("tiny/merged-alpaca-plus/hf"));
      expect(maxAbs(fromGguf, fromHf)).to.be.below(1e-6);
    } finally {
      tmp.cleanup();
    }
  });
});
