// llama-quantize's tensor-type rules.
import { expect } from "chai";
import { GGMLType } from "@llamats/tensor";
import { llamaQuantizeTypeFor, parseQuantizeType, parseTensorType } from "@llamats/quant";

const T = GGMLType;

describe("quant: llamaQuantizeTypeFor (llama-quantize rules)", () => {
  const sel = (name: string, shape: number[], ftype: GGMLType, opts = {}) => llamaQuantizeTypeFor(name, shape, ftype, opts);

  it("quantises 2-D *.weight tensors to the ftype's type", () => {
    expect(sel("blk.0.attn_q.weight", [4096, 4096], T.Q4_0)).to.equal(T.Q4_0);
    expect(sel("token_embd.weight", [49953, 4096], T.Q4_0)).to.equal(T.Q4_0);
    expect(sel("blk.3.ffn_down.weight", [4096, 11008], T.Q5_1)).to.equal(T.Q5_1);
  });

  it("keeps norms and 1-D tensors in F32", () => {
    expect(sel("blk.0.attn_norm.weight", [4096], T.Q4_0, { sourceType: T.F16 })).to.equal(T.F32);
    expect(sel("output_norm.weight", [4096], T.Q8_0, { sourceType: T.F32 })).to.equal(T.F32);
    expect(sel("rope_freqs.weight", [64], T.Q4_0, { sourceType: T.F32 })).to.equal(T.F32);
  });

  it("output.weight: Q6_K for Q4/Q5 ftypes, Q8_0 when its rows are not a multiple of 256, unchanged for Q8_0", () => {
    expect(sel("output.weight", [49953, 4096], T.Q4_0)).to.equal(T.Q6_K);
    expect(sel("output.weight", [49953, 4096], T.Q5_1)).to.equal(T.Q6_K);
    expect(sel("output.weight", [49953, 4096], T.Q4_K)).to.equal(T.Q6_K);
    expect(sel("output.weight", [32000, 64], T.Q4_0)).to.equal(T.Q8_0);
    expect(sel("output.weight", [49953, 4096], T.Q8_0)).to.equal(T.Q8_0);
    expect(sel("output.weight", [49953, 4096], T.F16)).to.equal(T.F16);
  });

  it("--pure and --output-tensor-type override the output rule", () => {
    expect(sel("output.weight", [49953, 4096], T.Q4_0, { pure: true })).to.equal(T.Q4_0);
    expect(sel("output.weight", [49953, 4096], T.Q4_0, { outputTensorType: T.F16 })).to.equal(T.F16);
    expect(sel("output.weight", [49953, 4096], T.Q4_0, { pure: true, outputTensorType: T.Q8_0 })).to.equal(T.Q8_0);
  });

  it("tied embeddings: token_embd takes the output rule when there is no output.weight", () => {
    expect(sel("token_embd.weight", [32000, 4096], T.Q4_0, { hasOutput: false })).to.equal(T.Q6_K);
  });

  it("rows that do not fit the block fall back as llama.cpp does", () => {
    expect(sel("blk.0.attn_q.weight", [64, 64], T.Q4_K)).to.equal(T.Q5_0);
    expect(sel("blk.0.attn_q.weight", [64, 64], T.Q5_K)).to.equal(T.Q5_1);
    expect(sel("blk.0.attn_q.weight", [64, 64], T.Q6_K)).to.equal(T.Q8_0);
    expect(sel("blk.0.ffn_down.weight", [64, 172], T.Q4_0)).to.equal(T.F16);
    expect(sel("blk.0.ffn_down.weight", [64, 172], T.Q4_K)).to.equal(T.F16);
  });

  it("parses TYPE case-insensitively and refuses unknown names", () => {
    expect(parseQuantizeType("Q4_0")).to.deep.include({ type: T.Q4_0, fileType: 2 });
    expect(parseQuantizeType("q8_0")).to.deep.include({ type: T.Q8_0, fileType: 7 });
    expect(parseQuantizeType("Q6_K").type).to.equal(T.Q6_K);
    expect(() => parseQuantizeType("q3_xs")).to.throw(/unknown quantisation type/);
    expect(parseTensorType("Q6_K")).to.equal(T.Q6_K);
    expect(() => parseTensorType("q8_k")).to.throw();
  });
});
