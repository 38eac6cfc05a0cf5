import { expect } from "chai";
import { ConfigError, buildLlamaConfig, ntkScaling, withRopeScaling, type LlamaConfig, type TensorShapes } from "@llamats/tensor";
import { configFromSource, hparamsFromHfConfig, hparamsFromLlama2c, hparamsFromMetaParams, type MetaParams } from "@llamats/formats";
import { autoNtkAlpha, ntkBase, ropeParamsFor } from "@llamats/model";

// Each file kind's reader (formats) feeding the one builder (tensor).
type Meta = Record<string, unknown>;
const configFromHf = (j: Meta, src = "config.json", shapes?: TensorShapes): LlamaConfig => buildLlamaConfig(hparamsFromHfConfig(src, j), src, shapes);
const configFromMeta = (p: Meta, src = "params.json", shapes?: TensorShapes): LlamaConfig => buildLlamaConfig(hparamsFromMetaParams(p as MetaParams), src, shapes);
const configFromLlama2c = (h: Meta): LlamaConfig => buildLlamaConfig(hparamsFromLlama2c({
  dim: h.dim, hiddenDim: h.hidden_dim, nLayers: h.n_layers, nHeads: h.n_heads, nKvHeads: h.n_kv_heads,
  vocabSize: Math.abs(h.vocab_size as number), seqLen: h.seq_len, sharedClassifier: (h.vocab_size as number) > 0,
} as Parameters<typeof hparamsFromLlama2c>[0]), "llama2.c header");
const configFromGguf = (metadata: Meta): LlamaConfig => configFromSource({ format: "gguf", path: "gguf", metadata, config: {}, tensors: [] });

const hf = {
  hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
  rms_norm_eps: 1e-6, vocab_size: 49954, max_position_embeddings: 2048,
};
const seven = { embeddingLength: 4096, blockCount: 32, headCount: 32, headCountKv: 32, keyLength: 128, ropeDimensionCount: 128, feedForwardLength: 11008, layerNormRmsEpsilon: 1e-6, ropeFreqBase: 10000, contextLength: 2048 };

describe("model/config", () => {
  it("HF config.json (Chinese-Alpaca-7B)", () => {
    const c = configFromHf(hf);
    expect(c).to.deep.include({ ...seven, vocabSize: 49954, ropeScaling: { type: "none" } });
    expect(Object.isFrozen(c)).to.equal(true);
    expect(configFromHf({ ...hf, rope_scaling: { type: "linear", factor: 2 } }).ropeScaling).to.deep.equal({ type: "linear", factor: 2 });
    expect(() => configFromHf({ ...hf, rope_scaling: { type: "dynamic", factor: 2 } })).to.throw(ConfigError, /dynamic/);
  });

  it("GGUF metadata (bigint values, GQA, vocab from the token list)", () => {
    const c = configFromGguf({
      "general.architecture": "llama", "llama.context_length": 2048n, "llama.embedding_length": 2048,
      "llama.block_count": 22, "llama.feed_forward_length": 5632, "llama.attention.head_count": 32,
      "llama.attention.head_count_kv": 4, "llama.attention.layer_norm_rms_epsilon": 1e-5, "llama.rope.freq_base": 10000,
      "llama.rope.dimension_count": 64, "tokenizer.ggml.tokens": new Array(32000).fill("x"),
    });
    expect(c).to.deep.include({ embeddingLength: 2048, blockCount: 22, headCount: 32, headCountKv: 4, keyLength: 64, ropeDimensionCount: 64, feedForwardLength: 5632, vocabSize: 32000, layerNormRmsEpsilon: 1e-5 });
    expect(() => configFromGguf({ "general.architecture": "falcon" })).to.throw(ConfigError, /falcon/);
  });

  it("Meta params.json: ffn from multiple_of, vocab from the embedding shape", () => {
    const p = { dim: 4096, multiple_of: 256, n_heads: 32, n_layers: 32, norm_eps: 1e-6, vocab_size: -1 };
    const c = configFromMeta(p, "params.json", new Map([["token_embd.weight", [49953, 4096]]]));
    expect(c).to.deep.include({ ...seven, vocabSize: 49953 });
    // 13B: ffn 13824.
    expect(configFromMeta({ ...p, dim: 5120, n_heads: 40, n_layers: 40 }, "p", new Map([["token_embd.weight", [49953, 5120]]])).feedForwardLength).to.equal(13824);
    expect(() => configFromMeta(p)).to.throw(ConfigError, /vocabSize/);
  });

  it("llama2.c header (stories260K)", () => {
    const c = configFromLlama2c({ dim: 64, hidden_dim: 172, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: -512, seq_len: 512 });
    expect(c).to.deep.include({ embeddingLength: 64, feedForwardLength: 172, blockCount: 5, headCount: 8, headCountKv: 4, keyLength: 8, vocabSize: 512, contextLength: 512, layerNormRmsEpsilon: 1e-5 });
  });

  it("tensor shapes win and contradictions are errors naming the field", () => {
    expect(configFromHf(hf, "c", new Map([["token_embd.weight", [49953, 4096]], ["blk.0.ffn_gate.weight", [11000, 4096]]]))).to.deep.include({ vocabSize: 49953, feedForwardLength: 11000 });
    expect(() => configFromHf(hf, "c", new Map([["token_embd.weight", [49953, 512]]]))).to.throw(ConfigError, /c: embeddingLength: 4096 but token_embd/);
    expect(() => configFromHf({ ...hf, num_key_value_heads: 5 })).to.throw(ConfigError, /headCountKv/);
    expect(() => configFromHf({ ...hf, num_hidden_layers: 0 })).to.throw(ConfigError, /blockCount/);
    expect(() => buildLlamaConfig({ ...seven, vocabSize: 10, ropeDimensionCount: 129 })).to.throw(ConfigError, /ropeDimensionCount/);
  });
});

describe("model/rope scaling", () => {
  const cfg = buildLlamaConfig({ embeddingLength: 64, headCount: 4, blockCount: 1, feedForwardLength: 8, vocabSize: 8, contextLength: 2048 });
  it("NTK alpha 2 with headDim 16 gives base 22081.79 (golden ntk2 case)", () => {
    expect(ntkBase(10000, 2, 16)).to.be.closeTo(22081.790273476247, 1e-8);
    expect(ropeParamsFor(withRopeScaling(cfg, ntkScaling(2)), 10).base).to.be.closeTo(22081.790273476247, 1e-8);
  });

  it("NTK auto: plain base within the training context, (n/1024 - 1)·1.1 beyond (golden 2304 case)", () => {
    const auto = withRopeScaling(cfg, ntkScaling("auto"));
    expect(ropeParamsFor(auto, 2048).base).to.equal(10000);
    expect(autoNtkAlpha(2304, 2048)).to.be.closeTo(1.375, 1e-12);
    expect(ropeParamsFor(auto, 2304).base).to.be.closeTo(14389.981197651114, 1e-8);
    expect(autoNtkAlpha(4096, 2048)).to.be.closeTo(3.3, 1e-12);
    expect(autoNtkAlpha(2049, 2048)).to.be.above(1);
    // A 512-token training context: the seed's formula would give alpha < 0 (a NaN base); clamped to 1.
    expect(autoNtkAlpha(600, 512)).to.equal(1);
    const short = withRopeScaling(buildLlamaConfig({ ...cfg, contextLength: 512 }), ntkScaling("auto"));
    expect(ropeParamsFor(short, 600).base).to.equal(10000);
  });

  it("linear scaling divides positions; alpha 1 is plain RoPE; bad alpha is an error", () => {
    expect(ropeParamsFor(withRopeScaling(cfg, { type: "linear", factor: 4 }), 1).freqScale).to.equal(0.25);
    expect(ntkScaling(1)).to.deep.equal({ type: "none" });
    expect(ntkScaling("1.5")).to.deep.equal({ type: "ntk", alpha: 1.5 });
    expect(() => ntkScaling("fast")).to.throw(ConfigError);
    expect(() => ntkScaling(-1)).to.throw(ConfigError);
  });
});
