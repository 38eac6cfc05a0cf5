// The pre-merge checks fire on wrong inputs (built in os.tmpdir() from the tiny fixtures),
// with an error that says what to do, and nothing is written.
import { expect } from "chai";
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError, encodeF16 } from "@llamats/tensor";
import { writeSafetensors } from "@llamats/formats";
import { isPlusOrProAlpaca, mergeLoras, openAdapter, type MergeLorasOptions } from "@llamats/lora";
import { describeConformance, fixturePath, randomNormal } from "@llamats/testkit";
import { makeTmp, readJson } from "./helpers/tmp.js";

const ADAPTER_FILES = ["adapter_config.json", "adapter_model.bin", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.model"];

function copyAdapter(from: string, to: string, edit?: { config?: object; tokenizerFrom?: string }): string {
  mkdirSync(to, { recursive: true });
  for (const f of ADAPTER_FILES) copyFileSync(fixturePath(`${from}/${f}`), join(to, f));
  if (edit?.config) {
    const c = readJson(join(to, "adapter_config.json"));
    writeFileSync(join(to, "adapter_config.json"), JSON.stringify({ ...c, ...edit.config }));
  }
  if (edit?.tokenizerFrom) copyFileSync(fixturePath(`${edit.tokenizerFrom}/tokenizer.model`), join(to, "tokenizer.model"));
  return to;
}

/** A synthetic adapter (safetensors) for q_proj/v_proj of `layers` layers of width `dim`. */
function synthAdapter(dir: string, opts: { dim?: number; layers?: number; r?: number; zeroB?: boolean; nanB?: boolean; hugeA?: boolean }): string {
  const { dim = 64, layers = 2, r = 4 } = opts;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify({ r, lora_alpha: 2 * r, target_modules: ["q_proj", "v_proj"], fan_in_fan_out: false, peft_type: "LORA" }));
  const tensors = [];
  let seed = 1;
  for (let l = 0; l < layers; l++) {
    for (const m of ["q_proj", "v_proj"]) {
      const a = randomNormal(r * dim, seed++, 0.1);
      if (opts.hugeA) a.fill(60000);
      const b = opts.zeroB ? new Float32Array(dim * r) : randomNormal(dim * r, seed++, 0.1);
      if (opts.hugeA) b.fill(1);
      if (opts.nanB && l === 1) b[3] = NaN;
      const key = `base_model.model.model.layers.${l}.self_attn.${m}`;
      tensors.push({ name: `${key}.lora_A.weight`, dtype: "F16" as const, shape: [r, dim], data: new Uint8Array(encodeF16(a).buffer) });
      tensors.push({ name: `${key}.lora_B.weight`, dtype: "F16" as const, shape: [dim, r], data: new Uint8Array(encodeF16(b).buffer) });
    }
  }
  writeSafetensors(join(dir, "adapter_model.safetensors"), tensors);
  return dir;
}

describeConformance("lora/checks: wrong inputs fail before anything is written", [
  "tiny/base/config.json", "tiny/lora-llama/adapter_model.bin", "tiny/lora-alpaca/adapter_model.bin",
], () => {
  const tmp = makeTmp("checks");
  after(() => tmp.cleanup());
  let n = 0;

  function expectFails(loras: string[], re: RegExp, extra: Partial<MergeLorasOptions> = {}): void {
    const out = join(tmp.dir, `out-${n++}`);
    expect(() => mergeLoras({ base: fixturePath("tiny/base"), loras, outputType: "huggingface", out, ...extra })).to.throw(LlamatsError, re);
    expect(existsSync(out), "no output folder").to.equal(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes(".tmp-") || f.includes(".stage-"))).to.deep.equal([]);
  }

  it("LLaMA tokenizer with the Alpaca LoRA (49953 vs 49954)", () => {
    const bad = copyAdapter("tiny/lora-alpaca", join(tmp.dir, "alpaca-with-llama-tok"), { tokenizerFrom: "tiny/lora-llama" });
    expectFails([fixturePath("tiny/lora-llama"), bad], /Did you misuse the LLaMA tokenizer with the Alpaca-LoRA weight\?/);
  });

  it("Alpaca-Plus merged onto LLaMA without the LLaMA-Plus LoRA", () => {
    const plus = copyAdapter("tiny/lora-alpaca", join(tmp.dir, "chinese-alpaca-plus-lora-tiny"));
    expect(isPlusOrProAlpaca(openAdapter(plus))).to.equal(true);
    expect(isPlusOrProAlpaca(openAdapter(fixturePath("tiny/lora-alpaca")))).to.equal(false);
    expectFails([plus], /Chinese-Alpaca-Plus\/Pro LoRA .*--lora <chinese-llama-plus-lora>/);
  });

  it("LoRAs in the wrong order (Alpaca before LLaMA)", () => {
    expectFails([fixturePath("tiny/lora-alpaca"), fixturePath("tiny/lora-llama")], /wrong LoRA order/);
  });

  it("an adapter for another model size", () => {
    const big = synthAdapter(join(tmp.dir, "syn-dim128"), { dim: 128 });
    expectFails([big], /is for a hidden size 128 model but the base .* is hidden size 64/);
    const deep = synthAdapter(join(tmp.dir, "syn-4layers"), { layers: 4 });
    expectFails([deep], /layer 2 but the base has 2 layers/);
  });

  it("rank in adapter_config.json that does not match the weights", () => {
    const bad = copyAdapter("tiny/lora-llama", join(tmp.dir, "llama-r16"), { config: { r: 16 } });
    expectFails([bad], /says r = 16/);
  });

  it("NaN in lora_B, and a delta that overflows f16", () => {
    expectFails([synthAdapter(join(tmp.dir, "syn-nan"), { nanB: true })], /NaN .*corrupt/);
    expectFails([synthAdapter(join(tmp.dir, "syn-huge"), { hugeA: true })], /Inf/);
  });

  it("an adapter that changes nothing (every lora_B zero)", () => {
    expectFails([synthAdapter(join(tmp.dir, "syn-zero"), { zeroB: true })], /changes nothing/);
  });

  it("bad options and a non-empty output folder", () => {
    const used = join(tmp.dir, "used");
    mkdirSync(used);
    writeFileSync(join(used, "x"), "");
    expect(() => mergeLoras({ base: fixturePath("tiny/base"), loras: [fixturePath("tiny/lora-llama")], outputType: "pth", out: used })).to.throw(LlamatsError, /not an empty folder/);
    expectFails([fixturePath("tiny/lora-llama")], /--dtype q4_0 applies to --output-type gguf/, { dtype: "q4_0" });
    expectFails([fixturePath("tiny/lora-llama")], /unknown quantisation type "q9_9"/, { outputType: "gguf", dtype: "q9_9" });
    expectFails([join(tmp.dir, "nope")], /does not exist/);
  });

  it("a synthetic adapter merges and changes exactly its targets", () => {
    const good = synthAdapter(join(tmp.dir, "syn-good"), {});
    const s = mergeLoras({ base: fixturePath("tiny/base"), loras: [good], outputType: "huggingface", out: join(tmp.dir, "syn-out") });
    expect(s.tensorsMerged).to.equal(4);
    expect(s.tensorsReplaced).to.equal(0);
    expect(s.vocabSize).to.equal(32000);
    expect(readJson(join(s.out, "config.json")).vocab_size).to.equal(32000);
  });

  it("a last LoRA that changes the vocabulary but ships no tokenizer.model", () => {
    const noTok = join(tmp.dir, "alpaca-no-tok");
    mkdirSync(noTok);
    for (const f of ["adapter_config.json", "adapter_model.bin"]) copyFileSync(fixturePath(`tiny/lora-alpaca/${f}`), join(noTok, f));
    expectFails([fixturePath("tiny/lora-llama"), noTok], /49954 tokens but the tokenizer it would get .*lora-llama.* has 49953 pieces/);
  });
});

