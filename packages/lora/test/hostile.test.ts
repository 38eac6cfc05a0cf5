// Hostile PEFT adapter configs: a valid adapter_config.json with one field made to lie
// (wrong type, huge or negative number, nested junk) and oversized files: only AdapterError
// (a LlamatsError) escapes, never TypeError/RangeError.
import { expect } from "chai";
import fc from "fast-check";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";
import { AdapterError, MAX_ADAPTER_CONFIG_BYTES, parseAdapterConfig, readAdapterConfig } from "@llamats/lora";

const good: Record<string, unknown> = {
  base_model_name_or_path: "decapoda-research/llama-7b-hf", bias: "none", fan_in_fan_out: false, inference_mode: true,
  lora_alpha: 32.0, lora_dropout: 0.05, modules_to_save: ["embed_tokens", "lm_head"], peft_type: "LORA", r: 8,
  target_modules: ["q_proj", "v_proj", "k_proj", "o_proj", "gate_proj", "down_proj", "up_proj"], task_type: "CAUSAL_LM",
};

const lyingValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53, NaN, "", "LORA", [], {}, [1, 2], ["q_proj", 3], "__proto__"),
  fc.jsonValue({ maxDepth: 3 }),
);

describe("hostile PEFT adapter_config.json", () => {
  it("one field made to lie: a config or an AdapterError", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(good), "__proto__", "constructor"), lyingValue, (key, value) => {
        const j = JSON.stringify({ ...good, [key]: value }); // a computed "__proto__" key is an own property: it is written
        try {
          const c = parseAdapterConfig(j, "adapter_config.json");
          expect(Number.isInteger(c.r) && c.r > 0).to.equal(true);
          expect(c.scale).to.equal(c.loraAlpha / c.r);
        } catch (err) {
          expect(err, String((err as Error).stack)).to.be.instanceOf(AdapterError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("arbitrary bytes and deeply nested JSON: an AdapterError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseAdapterConfig(text, "adapter_config.json");
        } catch (err) {
          expect(err).to.be.instanceOf(LlamatsError);
        }
      }),
      { numRuns: 300 },
    );
    expect(() => parseAdapterConfig("[".repeat(200_000) + "]".repeat(200_000), "deep.json")).to.throw(AdapterError);
  });

  it("a config larger than the limit is refused before it is read", () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-lora-hostile-"));
    try {
      const fd = openSync(join(dir, "adapter_config.json"), "w");
      ftruncateSync(fd, MAX_ADAPTER_CONFIG_BYTES + 1);
      closeSync(fd);
      expect(() => readAdapterConfig(dir)).to.throw(AdapterError, /exceed the 1048576-byte limit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
