import { expect } from "chai";
import { hfToMetaKey, metaShardCount, metaToHfKey } from "@llamats/lora";

describe("Meta checkpoint layout", () => {
  it("maps HF names to Meta names and back", () => {
    const pairs: [string, string][] = [
      ["model.embed_tokens.weight", "tok_embeddings.weight"],
      ["model.norm.weight", "norm.weight"],
      ["lm_head.weight", "output.weight"],
      ["model.layers.3.self_attn.q_proj.weight", "layers.3.attention.wq.weight"],
      ["model.layers.3.self_attn.o_proj.weight", "layers.3.attention.wo.weight"],
      ["model.layers.0.mlp.gate_proj.weight", "layers.0.feed_forward.w1.weight"],
      ["model.layers.0.mlp.down_proj.weight", "layers.0.feed_forward.w2.weight"],
      ["model.layers.0.mlp.up_proj.weight", "layers.0.feed_forward.w3.weight"],
      ["model.layers.1.input_layernorm.weight", "layers.1.attention_norm.weight"],
      ["model.layers.1.post_attention_layernorm.weight", "layers.1.ffn_norm.weight"],
    ];
    for (const [hf, meta] of pairs) {
      expect(hfToMetaKey(hf)).to.equal(meta);
      expect(metaToHfKey(meta)).to.equal(hf);
    }
    expect(hfToMetaKey("model.layers.0.self_attn.rotary_emb.inv_freq")).to.equal(undefined);
    expect(() => hfToMetaKey("model.layers.0.weird.weight")).to.throw(/cannot map/);
  });

  it("picks Meta's shard count from the model width", () => {
    expect(metaShardCount(4096)).to.equal(1);
    expect(metaShardCount(5120)).to.equal(2);
    expect(metaShardCount(6656)).to.equal(4);
    expect(metaShardCount(64)).to.equal(1);
  });
});
