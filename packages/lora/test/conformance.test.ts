// Conformance: `llamats merge` reproduces tiny/merged-llama and tiny/merged-alpaca-plus
// (PyTorch, the seed's merge script) tensor for tensor, in every output type.
import { expect } from "chai";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType } from "@llamats/tensor";
import { llamaQuantizeTypeFor } from "@llamats/quant";
import { openModelSourceSync, toFloat32 } from "@llamats/formats";
import { mergeLoras, openBaseModel, writeMetaFromHf } from "@llamats/lora";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { makeTmp, readJson, tensorHashes } from "./helpers/tmp.js";

type Ref = Record<string, { sha256: string; shape: number[]; dtype: string }>;

function expectTensors(path: string, ref: Ref): void {
  const got = tensorHashes(path);
  expect([...got.keys()].sort()).to.deep.equal(Object.keys(ref).sort());
  for (const [name, r] of Object.entries(ref)) {
    const g = got.get(name)!;
    expect(g.shape, name).to.deep.equal(r.shape);
    expect(g.sha256, `${name} bytes`).to.equal(r.sha256);
  }
}

const CASES = [
  { name: "merged-llama", loras: ["tiny/lora-llama"], vocab: 49953 },
  { name: "merged-alpaca-plus", loras: ["tiny/lora-llama", "tiny/lora-alpaca"], vocab: 49954 },
] as const;

describeConformance("lora/conformance: merges reproduce the PyTorch fixtures", [
  "tiny/base/config.json", "tiny/lora-llama/adapter_model.bin", "tiny/lora-alpaca/adapter_model.bin",
  "tiny/merged-llama/tensor-sha256.json", "tiny/merged-alpaca-plus/tensor-sha256.json",
], () => {
  const tmp = makeTmp("conf");
  after(() => tmp.cleanup());

  for (const c of CASES) {
    describe(c.name, () => {
      const ref = () => readJson(fixturePath(`tiny/${c.name}/tensor-sha256.json`));
      const merge = (outputType: "huggingface" | "pth" | "gguf", extra: object = {}, tag = outputType) =>
        mergeLoras({ base: fixturePath("tiny/base"), loras: c.loras.map(fixturePath), outputType, out: join(tmp.dir, `${c.name}-${tag}`), ...extra });

      it("huggingface (safetensors): every tensor's bytes, config.json, tokenizer of the last LoRA", () => {
        const s = merge("huggingface");
        expectTensors(join(s.out, "model.safetensors"), ref().hf);
        expect(readJson(join(s.out, "config.json"))).to.deep.equal(readJson(fixturePath(`tiny/${c.name}/hf/config.json`)));
        const tok = fixturePath(`${c.loras[c.loras.length - 1]}/tokenizer.model`);
        expect(readFileSync(join(s.out, "tokenizer.model")).equals(readFileSync(tok))).to.equal(true);
        expect(existsSync(join(s.out, "generation_config.json"))).to.equal(true);
        expect(s.vocabSize).to.equal(c.vocab);
        expect(readdirSync(tmp.dir).some((f) => f.includes(".tmp-") || f.includes(".stage-"))).to.equal(false);
      });

      it("pth: Meta names, Q/K un-permuted, params.json", () => {
        const s = merge("pth");
        expectTensors(join(s.out, "consolidated.00.pth"), ref().pth);
        expect(readFileSync(join(s.out, "params.json"), "utf8")).to.equal(readFileSync(fixturePath(`tiny/${c.name}/pth/params.json`), "utf8"));
      });

      it("gguf f16: canonical tensors equal the merged fixture's", () => {
        const s = merge("gguf");
        const ours = openModelSourceSync(join(s.out, "ggml-model-f16.gguf"));
        const theirs = openModelSourceSync(fixturePath(`tiny/${c.name}/hf`));
        try {
          expect(ours.config.vocabSize).to.equal(c.vocab);
          expect(ours.tensors.map((t) => t.name).sort()).to.deep.equal(theirs.tensors.map((t) => t.name).sort());
          for (const t of theirs.tensors) {
            const o = ours.tensors.find((x) => x.name === t.name)!;
            if (t.shape.length === 2) {
              expect(o.type, t.name).to.equal(GGMLType.F16);
              expect(Buffer.from(ours.read(t.name)).equals(Buffer.from(theirs.read(t.name))), t.name).to.equal(true);
            } else {
              // norms are written as F32 (llama.cpp's policy): equal values
              expect(Array.from(toFloat32(ours.read(t.name), o.type, o.shape))).to.deep.equal(Array.from(toFloat32(theirs.read(t.name), t.type, t.shape)));
            }
          }
          const tokens = ours.metadata["tokenizer.ggml.tokens"] as string[];
          expect(tokens).to.have.length(c.vocab); // the last LoRA's tokenizer, embedded
          expect(tokens[32000]).to.equal("但");
        } finally {
          ours.close();
          theirs.close();
        }
      });
    });
  }

  it("merged-llama --hf-bin: torch.save shards named as the input, index with total_size", () => {
    const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama")], outputType: "huggingface", hfBin: true, out: join(tmp.dir, "llama-bin") });
    const ref: Ref = readJson(fixturePath("tiny/merged-llama/tensor-sha256.json")).hf;
    const index = readJson(join(s.out, "pytorch_model.bin.index.json"));
    const shards = ["pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"];
    expect([...new Set(Object.values(index.weight_map))].sort()).to.deep.equal(shards);
    const all = new Map([...tensorHashes(join(s.out, shards[0])), ...tensorHashes(join(s.out, shards[1]))]);
    let total = 0;
    for (const [name, r] of Object.entries(ref)) {
      expect(all.get(name)?.sha256, name).to.equal(r.sha256);
      total += r.shape.reduce((a, d) => a * d, 1) * 2;
    }
    // the inv_freq buffers (float32, 8 per layer) stay, as the seed's low-mem script keeps them
    expect(all.has("model.layers.0.self_attn.rotary_emb.inv_freq")).to.equal(true);
    expect(index.metadata.total_size).to.equal(total + 2 * 8 * 4);
  });

  it("merged-llama pth with 2 shards: the 13B-style split, output rows 24976/24977", () => {
    const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama")], outputType: "pth", pthShards: 2, out: join(tmp.dir, "llama-pth2") });
    const ref = readJson(fixturePath("tiny/merged-llama/tensor-sha256.json"))["pth-2shards"];
    for (const f of ["consolidated.00.pth", "consolidated.01.pth"]) expectTensors(join(s.out, f), ref[f]);
  });

  it("gguf q8_0: matrices quantised from the merged f16 weights", () => {
    const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama")], outputType: "gguf", dtype: "q8_0", out: join(tmp.dir, "llama-q8") });
    const ours = openModelSourceSync(join(s.out, "ggml-model-q8_0.gguf"));
    const theirs = openModelSourceSync(fixturePath("tiny/merged-llama/hf"));
    try {
      const q = ours.tensors.find((t) => t.name === "blk.0.attn_q.weight")!;
      expect(q.type).to.equal(GGMLType.Q8_0);
      for (const name of ["blk.0.attn_q.weight", "blk.1.ffn_down.weight", "output.weight"]) {
        const o = ours.tensors.find((t) => t.name === name)!;
        const t = theirs.tensors.find((x) => x.name === name)!;
        const a = toFloat32(ours.read(name), o.type, o.shape);
        const b = toFloat32(theirs.read(name), t.type, t.shape);
        let maxRel = 0;
        for (let blk = 0; blk < b.length; blk += 32) {
          let amax = 0;
          for (let i = blk; i < blk + 32; i++) amax = Math.max(amax, Math.abs(b[i]));
          for (let i = blk; i < blk + 32; i++) maxRel = Math.max(maxRel, Math.abs(a[i] - b[i]) / (amax || 1));
        }
        expect(maxRel, name).to.be.below(1 / 127 + 1e-3); // half a Q8_0 step, plus f16 rounding of the scale
      }
    } finally {
      ours.close();
      theirs.close();
    }
  });

  it("gguf q4_0: tensor types follow llama-quantize's rule, as `llamats quantize` does", () => {
    const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama")], outputType: "gguf", dtype: "q4_0", out: join(tmp.dir, "llama-q4") });
    const ours = openModelSourceSync(join(s.out, "ggml-model-q4_0.gguf"));
    try {
      const types = Object.fromEntries(ours.tensors.map((t) => [t.name, t.type]));
      for (const t of ours.tensors) {
        expect(t.type, t.name).to.equal(llamaQuantizeTypeFor(t.name, t.shape, GGMLType.Q4_0, { hasOutput: true, sourceType: GGMLType.F16 }));
      }
      // The tiny model's rows (64) are not whole 256-blocks: output.weight takes Q6_K's fallback
      // Q8_0; ffn_down's rows (172) are not whole 32-blocks: F16; norms F32.
      expect(types).to.include({
        "output.weight": GGMLType.Q8_0, "blk.0.attn_q.weight": GGMLType.Q4_0, "token_embd.weight": GGMLType.Q4_0,
        "blk.1.ffn_down.weight": GGMLType.F16, "blk.0.attn_norm.weight": GGMLType.F32, "output_norm.weight": GGMLType.F32,
      });
      expect(ours.metadata["general.file_type"]).to.equal(2); // LLAMA_FTYPE_MOSTLY_Q4_0
    } finally {
      ours.close();
    }
  });

  it("a Meta base (params.json + 2 consolidated shards) merges to the same tensors", () => {
    const metaBase = join(tmp.dir, "meta-base");
    mkdirSync(metaBase);
    const hfBase = openBaseModel(fixturePath("tiny/base"));
    try {
      writeMetaFromHf(hfBase, metaBase, { shards: 2 });
    } finally {
      hfBase.close();
    }
    const s = mergeLoras({ base: metaBase, loras: [fixturePath("tiny/lora-llama")], outputType: "huggingface", out: join(tmp.dir, "from-meta") });
    expectTensors(join(s.out, "model.safetensors"), readJson(fixturePath("tiny/merged-llama/tensor-sha256.json")).hf);
    expect(readJson(join(s.out, "config.json"))).to.include({ vocab_size: 49953, hidden_size: 64, intermediate_size: 172, num_attention_heads: 4 });
  });
});
