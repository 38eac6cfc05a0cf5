// llama-quantize's tensor-type rules.
import { expect } from "chai";
import { GGMLType } from "@llamats/tensor";
import { formatFallback, llamaQuantizePlan, llamaQuantizeTypeFor, parseQuantizeType, parseTensorType } from "@llamats/quant";

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

describe("quant: llama.cpp's mixtures (Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M) on a 32-layer 7B", () => {
  // LLaMA-7B's tensors in file order (dim 4096, ffn 11008, 32 layers, no GQA).
  const tensors: { name: string; shape: number[]; type: GGMLType }[] = [{ name: "token_embd.weight", shape: [32000, 4096], type: T.F16 }];
  for (let l = 0; l < 32; l++) {
    for (const [n, shape] of [["attn_q", [4096, 4096]], ["attn_k", [4096, 4096]], ["attn_v", [4096, 4096]], ["attn_output", [4096, 4096]],
      ["ffn_gate", [11008, 4096]], ["ffn_down", [4096, 11008]], ["ffn_up", [11008, 4096]]] as const) {
      tensors.push({ name: `blk.${l}.${n}.weight`, shape: [...shape], type: T.F16 });
    }
    tensors.push({ name: `blk.${l}.attn_norm.weight`, shape: [4096], type: T.F32 });
  }
  tensors.push({ name: "output.weight", shape: [32000, 4096], type: T.F16 });
  const plan = (ftype: string, nKvHeads = 32) => llamaQuantizePlan(tensors, parseQuantizeType(ftype), { nLayers: 32, nHeads: 32, nKvHeads }).types;
  const layersWith = (types: Map<string, GGMLType>, kind: string, t: GGMLType) =>
    Array.from({ length: 32 }, (_, l) => l).filter((l) => types.get(`blk.${l}.${kind}.weight`) === t);
  // use_more_bits(i, 32): the first and last 4 layers and every third layer from 6 to 27
  const moreBits = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];

  it("Q4_K_M: attn_v and ffn_down Q6_K in the use_more_bits layers, the rest Q4_K, output Q6_K; file type 15", () => {
    const p = plan("Q4_K_M");
    expect(parseQuantizeType("Q4_K_M").fileType).to.equal(15);
    expect(layersWith(p, "attn_v", T.Q6_K)).to.deep.equal(moreBits);
    expect(layersWith(p, "ffn_down", T.Q6_K)).to.deep.equal(moreBits);
    expect(layersWith(p, "attn_v", T.Q4_K).length).to.equal(16);
    expect(layersWith(p, "attn_q", T.Q4_K).length).to.equal(32);
    expect(layersWith(p, "attn_output", T.Q4_K).length).to.equal(32);
    expect(p.get("output.weight")).to.equal(T.Q6_K);
    expect(p.get("token_embd.weight")).to.equal(T.Q4_K);
    expect(p.get("blk.0.attn_norm.weight")).to.equal(T.F32);
  });

  it("Q5_K_M: the same layers Q6_K over Q5_K; Q5_K_S uniform Q5_K", () => {
    const m = plan("q5_k_m");
    expect(layersWith(m, "ffn_down", T.Q6_K)).to.deep.equal(moreBits);
    expect(layersWith(m, "ffn_up", T.Q5_K).length).to.equal(32);
    const s_ = plan("Q5_K_S");
    expect(layersWith(s_, "attn_v", T.Q5_K).length).to.equal(32);
    expect(layersWith(s_, "ffn_down", T.Q5_K).length).to.equal(32);
  });

  it("Q4_K_S: attn_v Q5_K in layers 0-3, ffn_down Q5_K in the first 32/8 layers", () => {
    const p = plan("Q4_K_S");
    expect(layersWith(p, "attn_v", T.Q5_K)).to.deep.equal([0, 1, 2, 3]);
    expect(layersWith(p, "ffn_down", T.Q5_K)).to.deep.equal([0, 1, 2, 3]);
    expect(layersWith(p, "attn_q", T.Q4_K).length).to.equal(32);
  });

  it("Q3_K_M: attn_v Q5_K in layers 0-1 else Q4_K, ffn_down Q5_K in the first 32/16, attn_output Q4_K, rest Q3_K", () => {
    const p = plan("Q3_K_M");
    expect(layersWith(p, "attn_v", T.Q5_K)).to.deep.equal([0, 1]);
    expect(layersWith(p, "attn_v", T.Q4_K).length).to.equal(30);
    expect(layersWith(p, "ffn_down", T.Q5_K)).to.deep.equal([0, 1]);
    expect(layersWith(p, "ffn_down", T.Q4_K).length).to.equal(30);
    expect(layersWith(p, "attn_output", T.Q4_K).length).to.equal(32);
    expect(layersWith(p, "ffn_gate", T.Q3_K).length).to.equal(32);
  });

  it("Q2_K: attn_v Q3_K (Q4_K with n_head/n_head_kv >= 4), ffn_down and attn_output Q3_K, rest Q2_K", () => {
    const p = plan("Q2_K");
    expect(layersWith(p, "attn_v", T.Q3_K).length).to.equal(32);
    expect(layersWith(p, "ffn_down", T.Q3_K).length).to.equal(32);
    expect(layersWith(p, "attn_output", T.Q3_K).length).to.equal(32);
    expect(layersWith(p, "attn_q", T.Q2_K).length).to.equal(32);
    expect(layersWith(plan("Q2_K", 8), "attn_v", T.Q4_K).length).to.equal(32);
  });

  it("--pure turns the mixture's layer rules off; q4_k stays uniform", () => {
    const pure = llamaQuantizePlan(tensors, parseQuantizeType("q4_k_m"), { nLayers: 32 }, { pure: true }).types;
    expect(layersWith(pure, "attn_v", T.Q4_K).length).to.equal(32);
    expect(layersWith(plan("q4_k"), "ffn_down", T.Q4_K).length).to.equal(32);
  });

  it("lists every fallback with what it wanted and got, in llama.cpp's words (one type table, one rule)", () => {
    const small = [{ name: "blk.0.ffn_down.weight", shape: [64, 172], type: T.F16 }, { name: "blk.0.attn_q.weight", shape: [64, 64], type: T.F16 }];
    const { types, fallbacks } = llamaQuantizePlan(small, parseQuantizeType("q2_k"), { nLayers: 2 });
    expect(types.get("blk.0.attn_q.weight")).to.equal(T.Q4_0);
    expect(fallbacks.map((f) => [f.name, f.wanted, f.got])).to.deep.equal([
      ["blk.0.ffn_down.weight", T.Q3_K, T.F16], ["blk.0.attn_q.weight", T.Q2_K, T.Q4_0],
    ]);
    expect(formatFallback(fallbacks[1]!)).to.equal("warning: blk.0.attn_q.weight - ncols 64 not divisible by 256 (required for type q2_K) -> falling back to q4_0");
    expect(parseQuantizeType("Q3_K").type).to.equal(T.Q3_K); // merge --dtype and quantize: the same names
  });
});
