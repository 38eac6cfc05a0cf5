import { expect } from "chai";
import fc from "fast-check";
import {
  BLOCK_TENSORS, canonicalFromHf, canonicalFromLlama2c, canonicalFromMeta, canonicalFromPeft, canonicalOrder,
  hfFromCanonical, metaFromCanonical, permuteQkRows,
} from "@llamats/formats";

describe("canonical tensor names", () => {
  it("maps HF and Meta names both ways", () => {
    expect(canonicalFromHf("model.embed_tokens.weight")).to.equal("token_embd.weight");
    expect(canonicalFromHf("lm_head.weight")).to.equal("output.weight");
    expect(canonicalFromHf("model.norm.weight")).to.equal("output_norm.weight");
    expect(canonicalFromHf("model.layers.11.self_attn.q_proj.weight")).to.equal("blk.11.attn_q.weight");
    expect(canonicalFromHf("model.layers.0.mlp.down_proj.weight")).to.equal("blk.0.ffn_down.weight");
    expect(canonicalFromHf("model.layers.0.post_attention_layernorm.weight")).to.equal("blk.0.ffn_norm.weight");
    expect(canonicalFromHf("model.layers.0.self_attn.rotary_emb.inv_freq")).to.equal(undefined);
    expect(canonicalFromMeta("tok_embeddings.weight")).to.equal("token_embd.weight");
    expect(canonicalFromMeta("layers.3.feed_forward.w1.weight")).to.equal("blk.3.ffn_gate.weight");
    expect(canonicalFromMeta("layers.3.feed_forward.w2.weight")).to.equal("blk.3.ffn_down.weight");
    expect(canonicalFromMeta("layers.3.attention.wo.weight")).to.equal("blk.3.attn_output.weight");
    expect(canonicalFromMeta("rope.freqs")).to.equal(undefined);
    const names = ["token_embd.weight", "output_norm.weight", "output.weight", ...BLOCK_TENSORS.map((k) => `blk.7.${k}.weight`)];
    for (const n of names) {
      expect(canonicalFromHf(hfFromCanonical(n)!)).to.equal(n);
      expect(canonicalFromMeta(metaFromCanonical(n)!)).to.equal(n);
    }
  });

  it("maps PEFT keys to base tensors and parts", () => {
    expect(canonicalFromPeft("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")).to.deep.equal({ canonical: "blk.0.attn_q.weight", part: "lora_A" });
    expect(canonicalFromPeft("base_model.model.model.layers.1.mlp.up_proj.lora_B.default.weight")).to.deep.equal({ canonical: "blk.1.ffn_up.weight", part: "lora_B" });
    expect(canonicalFromPeft("base_model.model.lm_head.weight")).to.deep.equal({ canonical: "output.weight", part: "full" });
    expect(canonicalFromPeft("base_model.model.model.embed_tokens.modules_to_save.default.weight")).to.deep.equal({ canonical: "token_embd.weight", part: "full" });
  });

  it("maps llama2.c fields and orders tensors like llama.cpp", () => {
    expect(canonicalFromLlama2c("wq[2]")).to.equal("blk.2.attn_q.weight");
    expect(canonicalFromLlama2c("w2[0]")).to.equal("blk.0.ffn_down.weight");
    expect(canonicalFromLlama2c("wcls")).to.equal("output.weight");
    const sorted = ["output.weight", "blk.10.attn_q.weight", "blk.2.ffn_up.weight", "blk.2.attn_norm.weight", "token_embd.weight", "output_norm.weight"].sort(canonicalOrder);
    expect(sorted).to.deep.equal(["token_embd.weight", "blk.2.attn_norm.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight", "output_norm.weight", "output.weight"]);
  });
});

describe("Q/K permutation (HF rotate-half <-> interleaved)", () => {
  /** llama.cpp's permute(): w.reshape(nHead, 2, rows/nHead/2, cols).swapaxes(1, 2).reshape(rows, cols), on row indices. */
  function llamaCppPermuteRows(rows: number, nHeads: number): number[] {
    const half = rows / nHeads / 2;
    const out: number[] = [];
    for (let h = 0; h < nHeads; h++) for (let i = 0; i < half; i++) for (let s = 0; s < 2; s++) out.push(h * 2 * half + s * half + i);
    return out; // out[newRow] = oldRow
  }

  it("equals llama.cpp's reshape/swapaxes permute and inverts exactly (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (nHeads, half, rowBytes) => {
        const rows = nHeads * half * 2;
        const src = new Uint8Array(rows * rowBytes).map((_, i) => Math.floor(i / rowBytes)); // byte = its row index
        const inter = permuteQkRows(src, rows, nHeads, "hfToInterleaved");
        const want = llamaCppPermuteRows(rows, nHeads);
        for (let r = 0; r < rows; r++) expect(inter[r * rowBytes]).to.equal(want[r]);
        const back = permuteQkRows(inter, rows, nHeads, "interleavedToHf");
        expect(Array.from(back)).to.deep.equal(Array.from(src));
      }),
      { numRuns: 60 },
    );
  });

  it("pairs (i, i + hd/2) of each HF head become rows (2i, 2i+1)", () => {
    // headDim 4, one head: HF rows [a0 a1 b0 b1] (rotate-half pairs (a0,b0), (a1,b1)) -> [a0 b0 a1 b1]
    const out = permuteQkRows(new Uint8Array([10, 11, 20, 21]), 4, 1, "hfToInterleaved");
    expect(Array.from(out)).to.deep.equal([10, 20, 11, 21]);
    expect(() => permuteQkRows(new Uint8Array(6), 6, 2, "hfToInterleaved")).to.throw(/odd/);
  });
});
