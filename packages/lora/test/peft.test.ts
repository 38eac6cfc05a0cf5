import { expect } from "chai";
import { AdapterError, parseAdapterConfig, planAdapter } from "@llamats/lora";

const good = {
  fan_in_fan_out: false, lora_alpha: 32.0, modules_to_save: ["embed_tokens", "lm_head"], peft_type: "LORA", r: 8,
  target_modules: ["q_proj", "v_proj"], bias: "none",
};

describe("PEFT adapter config and keys", () => {
  it("parses the Chinese-LLaMA adapter_config.json fields", () => {
    const c = parseAdapterConfig(JSON.stringify(good), "a.json");
    expect(c).to.include({ r: 8, loraAlpha: 32, scale: 4, fanInFanOut: false, peftType: "LORA" });
    expect(c.targetModules).to.deep.equal(["q_proj", "v_proj"]);
    expect(c.modulesToSave).to.deep.equal(["embed_tokens", "lm_head"]);
  });

  for (const [field, value, re] of [
    ["r", 0, /"r" must be a positive integer/],
    ["r", 2.5, /"r"/],
    ["lora_alpha", "x", /lora_alpha/],
    ["target_modules", [], /target_modules/],
    ["peft_type", "PREFIX_TUNING", /only LORA/],
    ["fan_in_fan_out", "yes", /fan_in_fan_out/],
  ] as const) {
    it(`rejects ${field} = ${JSON.stringify(value)}`, () => {
      expect(() => parseAdapterConfig(JSON.stringify({ ...good, [field]: value }), "a.json")).to.throw(AdapterError, re);
    });
  }
  it("rejects malformed JSON naming the file", () => {
    expect(() => parseAdapterConfig("{", "x/adapter_config.json")).to.throw(AdapterError, /x\/adapter_config.json: not valid JSON/);
  });

  it("groups LoRA and modules_to_save keys (old and new PEFT spellings) under canonical names", () => {
    const p = planAdapter([
      "base_model.model.model.layers.12.self_attn.q_proj.lora_A.weight",
      "base_model.model.model.layers.12.self_attn.q_proj.lora_B.weight",
      "base_model.model.model.layers.0.mlp.down_proj.lora_A.default.weight",
      "base_model.model.model.layers.0.mlp.down_proj.lora_B.default.weight",
      "base_model.model.model.embed_tokens.weight",
      "base_model.model.lm_head.modules_to_save.default.weight",
    ], "ad");
    expect(Object.fromEntries(p.pairs)).to.deep.equal({
      "blk.12.attn_q.weight": { a: "base_model.model.model.layers.12.self_attn.q_proj.lora_A.weight", b: "base_model.model.model.layers.12.self_attn.q_proj.lora_B.weight" },
      "blk.0.ffn_down.weight": { a: "base_model.model.model.layers.0.mlp.down_proj.lora_A.default.weight", b: "base_model.model.model.layers.0.mlp.down_proj.lora_B.default.weight" },
    });
    expect(Object.fromEntries(p.full)).to.deep.equal({
      "token_embd.weight": "base_model.model.model.embed_tokens.weight",
      "output.weight": "base_model.model.lm_head.modules_to_save.default.weight",
    });
    expect(() => planAdapter(["model.layers.0.self_attn.q_proj.weight"], "ad")).to.throw(AdapterError, /not a PEFT key/);
  });

  it("groups keys into pairs and full tensors, and rejects an unpaired factor", () => {
    const p = planAdapter([
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
      "base_model.model.lm_head.weight",
    ], "ad");
    expect([...p.pairs.keys()]).to.deep.equal(["blk.0.attn_q.weight"]);
    expect([...p.full.keys()]).to.deep.equal(["output.weight"]);
    expect(() => planAdapter(["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"], "ad")).to.throw(AdapterError, /no matching lora_B/);
    expect(() => planAdapter(["foo.weight"], "ad")).to.throw(AdapterError, /not a PEFT key/);
  });
});

describe("--verify table lookup", () => {
  it("matches, unknown files and unlisted names (issue 15 defect 4: Meta's tokenizer is known)", async () => {
    const { checkAgainstTable, formatVerifyLine } = await import("@llamats/lora");
    const ok = checkAgainstTable("/x/tokenizer.model", "2d967e855b1213a439df6c8ce2791f869c84b4f3b6cfacf22b86440b8192a2f8");
    expect(ok.status).to.equal("match");
    expect(formatVerifyLine(ok)).to.match(/OK \(Chinese-Alpaca tokenizer/);
    const bad = checkAgainstTable("/x/adapter_model.bin", "00".repeat(32));
    expect(bad.status).to.equal("unknown");
    expect(formatVerifyLine(bad)).to.match(/unknown file: not one of the 15 published adapter_model.bin hashes/);
    expect(formatVerifyLine(bad)).not.to.match(/MISMATCH/i);
    const meta = checkAgainstTable("/x/tokenizer.model", "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347");
    expect(meta.status).to.equal("match");
    expect(formatVerifyLine(meta)).to.match(/OK \(LLaMA tokenizer \(Meta/);
    const shard = checkAgainstTable("/x/consolidated.01.pth", "d5ccbcc465c71c0de439a5aeffebe8344c68a519bce70bc7f9f92654ee567085");
    expect(shard.models).to.deep.equal(["LLaMA-13B (Meta)"]);
    const other = checkAgainstTable("/x/foo.bin", "00");
    expect(other.status).to.equal("unlisted");
    expect(formatVerifyLine(other)).to.match(/unknown file/);
  });
});

describe("--dtype for gguf output", () => {
  it("accepts float and quantisable types, rejects the rest with the list", async () => {
    const { ggmlTypeForDtype } = await import("@llamats/lora");
    const { GGMLType } = await import("@llamats/tensor");
    expect(ggmlTypeForDtype("F16")).to.equal(GGMLType.F16);
    expect(ggmlTypeForDtype("q4_0")).to.equal(GGMLType.Q4_0);
    expect(ggmlTypeForDtype("Q4_K_M")).to.equal(GGMLType.Q4_K); // the names quantize takes
    expect(() => ggmlTypeForDtype("q9_9")).to.throw(/unknown quantisation type "q9_9" \(expected one of f32, f16/);
    expect(() => ggmlTypeForDtype("i32")).to.throw(/unknown quantisation type/);
  });
});
