// `llamats merge` as a user runs it (spawned from the TypeScript sources): merge -> gguf in
// one command, JSON summary on stdout, progress on stderr, exit 2 and no output on bad input.
import { expect } from "chai";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { interrupted, llamats } from "./helpers/spawn.js";

/** Start a merge into dir/out and interrupt it mid-write with `sig` (helpers/spawn.ts). */
function interruptedMerge(dir: string, out: string, sig: NodeJS.Signals): Promise<{ code: number | null; err: string }> {
  return interrupted(["merge", "--base", fixturePath("tiny/base"), "--lora", fixturePath("tiny/lora-llama"), "--output-type", "pth", "--out", out],
    dir, out.split("/").pop()!, sig);
}

describeConformance("cli: merge", ["tiny/base/config.json", "tiny/lora-llama/adapter_model.bin", "tiny/lora-alpaca/adapter_model.bin"], () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-cli-merge-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("merges Alpaca-Plus (two LoRAs, in order) into a q8_0 GGUF with --verify", () => {
    const out = join(dir, "alpaca-plus-q8");
    const r = llamats([
      "merge", "--base", fixturePath("tiny/base"), "--lora", `${fixturePath("tiny/lora-llama")}, ${fixturePath("tiny/lora-alpaca")},`,
      "--output-type", "gguf", "--dtype", "q8_0", "--out", out, "--low-mem", "--verify",
    ]);
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.trim().split("\n");
    expect(lines.find((l) => l.includes("lora-alpaca/tokenizer.model"))).to.match(/^2d967e855b1213a4\w+ .* OK \(Chinese-Alpaca tokenizer/);
    // issue 15 defect 4: Meta's own tokenizer (the base's) is in the table, not a mismatch
    expect(lines.find((l) => l.includes("base/tokenizer.model"))).to.match(/^9e556afd44213b6b\w+ .* OK \(LLaMA tokenizer \(Meta/);
    expect(r.out).not.to.match(/MISMATCH/i);
    const summary = JSON.parse(lines[lines.length - 1]);
    expect(summary).to.include({ outputType: "gguf", vocabSize: 49954, tensorsMerged: 28, tensorsReplaced: 4 });
    expect(summary.files).to.deep.equal(["ggml-model-q8_0.gguf"]);
    expect(summary.peakRssBytes).to.be.above(0);
    expect(r.err).to.match(/peak RSS \d+ MiB/);
    expect(existsSync(join(out, "ggml-model-q8_0.gguf"))).to.equal(true);
  });

  it("exits 2 with the seed's hint when the LLaMA tokenizer sits in the Alpaca LoRA, writing nothing", () => {
    const bad = join(dir, "alpaca-bad-tok");
    mkdirSync(bad);
    for (const f of ["adapter_config.json", "adapter_model.bin"]) copyFileSync(fixturePath(`tiny/lora-alpaca/${f}`), join(bad, f));
    copyFileSync(fixturePath("tiny/lora-llama/tokenizer.model"), join(bad, "tokenizer.model"));
    const out = join(dir, "bad-out");
    const r = llamats(["merge", "--base", fixturePath("tiny/base"), "--lora", `${fixturePath("tiny/lora-llama")},${bad}`, "--output-type", "pth", "--out", out]);
    expect(r.code).to.equal(2);
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(r.err).to.match(/^llamats: Did you misuse the LLaMA tokenizer with the Alpaca-LoRA weight\?/);
    expect(r.out).to.equal("");
    expect(existsSync(out)).to.equal(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-") || f.includes(".stage-"))).to.deep.equal([]);
  });

  it("exits 2 on an unknown --output-type", () => {
    const r = llamats(["merge", "--base", fixturePath("tiny/base"), "--lora", fixturePath("tiny/lora-llama"), "--output-type", "onnx", "--out", join(dir, "x")]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/--output-type must be one of huggingface, pth, gguf/);
  });

  for (const [sig, status] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    it(`${sig} during the merge: exit ${status}, no OUT, OUT.tmp-* or OUT.stage-* left`, async () => {
      const out = join(dir, `killed-${sig}`);
      const r = await interruptedMerge(dir, out, sig);
      expect(r.code, r.err).to.equal(status);
      expect(readdirSync(dir).filter((f) => f.startsWith(`killed-${sig}`))).to.deep.equal([]);
    });
  }
});
