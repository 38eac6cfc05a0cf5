// A synthetic Hugging Face folder (GQA, rope_scaling, bf16) built in the test: opened as a
// ModelSource, written as GGUF, read back, and written as HF again must give the same
// bytes and hyper-parameters. Needs no fixtures.
import { expect } from "chai";
import fc from "fast-check";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "@llamats/tensor";
import {
  openModelSource, openSafetensors, permuteQkRows, writeGgufFromSource, writeHfFromSource, writeSafetensors,
  type SafetensorsWriteTensor,
} from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("synth");
after(() => tmp.cleanup());

function makeHf(dir: string, p: { heads: number; kvHeads: number; headDim: number; layers: number; ffn: number; vocab: number; seed: number }) {
  const dim = p.heads * p.headDim;
  const kvDim = p.kvHeads * p.headDim;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: dim, intermediate_size: p.ffn, num_attention_heads: p.heads,
    num_key_value_heads: p.kvHeads, num_hidden_layers: p.layers, rms_norm_eps: 1e-5, vocab_size: p.vocab, max_position_embeddings: 256,
    rope_theta: 500000, rope_scaling: { type: "linear", factor: 4 }, torch_dtype: "bfloat16",
  }));
  let s = p.seed;
  const t = (name: string, shape: number[]): SafetensorsWriteTensor => ({
    name, dtype: "BF16", shape, data: new Uint8Array(shape.reduce((a, d) => a * d, 2)).map(() => (s = (s * 1103515245 + 12345) >>> 0) >>> 24),
  });
  const tensors = [t("model.embed_tokens.weight", [p.vocab, dim]), t("model.norm.weight", [dim]), t("lm_head.weight", [p.vocab, dim])];
  for (let l = 0; l < p.layers; l++) {
    const b = `model.layers.${l}.`;
    tensors.push(t(b + "self_attn.q_proj.weight", [dim, dim]), t(b + "self_attn.k_proj.weight", [kvDim, dim]), t(b + "self_attn.v_proj.weight", [kvDim, dim]),
      t(b + "self_attn.o_proj.weight", [dim, dim]), t(b + "mlp.gate_proj.weight", [p.ffn, dim]), t(b + "mlp.up_proj.weight", [p.ffn, dim]),
      t(b + "mlp.down_proj.weight", [dim, p.ffn]), t(b + "input_layernorm.weight", [dim]), t(b + "post_attention_layernorm.weight", [dim]));
  }
  if (p.seed % 2 === 0) {
    writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  } else {
    // sharded: two files and model.safetensors.index.json, the split falling mid-layer
    const cut = Math.ceil(tensors.length / 2);
    const files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    writeSafetensors(join(dir, files[0]), tensors.slice(0, cut), { format: "pt" });
    writeSafetensors(join(dir, files[1]), tensors.slice(cut), { format: "pt" });
    const weightMap = Object.fromEntries(tensors.map((t, i) => [t.name, files[i < cut ? 0 : 1]]));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  }
  return tensors;
}

describe("synthetic HF model: HF -> GGUF -> HF", () => {
  it("keeps bytes and hyper-parameters, permutes K with the KV head count (property)", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.record({ kvHeads: fc.integer({ min: 1, max: 3 }), group: fc.integer({ min: 1, max: 3 }), half: fc.integer({ min: 1, max: 3 }), layers: fc.integer({ min: 1, max: 2 }), ffn: fc.integer({ min: 1, max: 9 }), vocab: fc.integer({ min: 1, max: 9 }), seed: fc.nat() }), async (r) => {
        const p = { heads: r.kvHeads * r.group, kvHeads: r.kvHeads, headDim: 2 * r.half, layers: r.layers, ffn: r.ffn, vocab: r.vocab, seed: r.seed };
        const dir = tmp.path(`hf${run++}`);
        const tensors = makeHf(dir, p);
        const src = await openModelSource(dir);
        const gguf = `${dir}.gguf`;
        writeGgufFromSource(src, gguf);
        const k = src.read("blk.0.attn_k.weight");
        const kIn = tensors.find((t) => t.name === "model.layers.0.self_attn.k_proj.weight")!.data as Uint8Array;
        expect(Array.from(k)).to.deep.equal(Array.from(permuteQkRows(kIn, p.kvHeads * p.headDim, p.kvHeads, "hfToInterleaved")));
        src.close();
        const g = await openModelSource(gguf);
        try {
          expect(g.config).to.deep.include({ headCount: p.heads, headCountKv: p.kvHeads, ropeFreqBase: 500000, ropeScaling: { type: "linear", factor: 4 }, layerNormRmsEpsilon: 1e-5, contextLength: 256 });
          expect(g.tensors.find((t) => t.name === "blk.0.attn_q.weight")!.type).to.equal(GGMLType.BF16);
          expect(g.tensors.find((t) => t.name === "output_norm.weight")!.type).to.equal(GGMLType.F32);
          const back = `${dir}-back`;
          writeHfFromSource(g, back);
          const f = openSafetensors(join(back, "model.safetensors"));
          try {
            for (const t of tensors) expect(Array.from(f.readTensor(t.name)), t.name).to.deep.equal(Array.from(t.data as Uint8Array));
          } finally {
            f.close();
          }
          const cfg = JSON.parse(readFileSync(join(back, "config.json"), "utf8"));
          expect(cfg).to.deep.include({ num_key_value_heads: p.kvHeads, torch_dtype: "bfloat16", rope_theta: 500000 });
          expect(cfg.rope_scaling).to.deep.equal({ type: "linear", factor: 4 });
        } finally {
          g.close();
        }
      }),
      { numRuns: 15 },
    );
  });
});
