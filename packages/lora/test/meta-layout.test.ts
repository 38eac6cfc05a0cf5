import { expect } from "chai";
import { hfToMetaKey, metaShardCount, metaShardSplit, metaToHfKey, shardSlice } from "@llamats/lora";

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

  it("splits shards along Meta's axes, output rows unevenly", () => {
    expect(metaShardSplit("layers.0.attention.wq.weight")).to.equal("rows");
    expect(metaShardSplit("layers.0.feed_forward.w2.weight")).to.equal("cols");
    expect(metaShardSplit("tok_embeddings.weight")).to.equal("cols");
    expect(metaShardSplit("layers.0.ffn_norm.weight")).to.equal("replicate");
    expect(metaShardSplit("output.weight")).to.equal("output-rows");
    expect(metaShardCount(5120)).to.equal(2);
    expect(metaShardCount(6656)).to.equal(4);
    // (5, 2) one-byte elements
    const t = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const a = shardSlice(t, [5, 2], 1, "output-rows", 2, 0), b = shardSlice(t, [5, 2], 1, "output-rows", 2, 1);
    expect(a.shape).to.deep.equal([2, 2]);
    expect(b.shape).to.deep.equal([3, 2]);
    expect(Array.from(b.bytes)).to.deep.equal([4, 5, 6, 7, 8, 9]);
    const c = shardSlice(t, [5, 2], 1, "cols", 2, 1);
    expect(c.shape).to.deep.equal([5, 1]);
    expect(Array.from(c.bytes)).to.deep.equal([1, 3, 5, 7, 9]);
    expect(() => shardSlice(t, [5, 2], 1, "rows", 2, 0)).to.throw(/do not split/);
  });
});
