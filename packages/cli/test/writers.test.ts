// Issue 15, defects 1-3, 7 and 9 (writers): every command that writes a file or folder does
// it whole or not at all, Ctrl-C / SIGTERM included, with one rule for missing folders; PEFT
// adapters are not models; Meta params.json gets the multiple_of of the model; the smaller
// convert / quantize refusals and warnings.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { writeSyntheticModel } from "@llamats/engine";
import { openGguf, openModelSourceSync } from "@llamats/formats";
import { ggmlTypeInfo } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";
import { interrupted } from "./helpers/spawn.js";

const leftovers = (dir: string) => readdirSync(dir).filter((f) => /\.(tmp|stage)-\d+$/.test(f));
const oneLine = /^llamats: [^\n]+\n$/;

describe("cli writers: whole or nothing, Ctrl-C and SIGTERM included (defect 1)", function () {
  this.timeout(180000);
  let dir = "";
  let model = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-writers-"));
    model = join(dir, "tiny-f32.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "f32", seed: 1 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("quantize: SIGINT mid-write exits 130 and leaves no OUT.tmp-<pid>", async () => {
    const r = await interrupted(["quantize", model, join(dir, "q.gguf"), "q4_k"], dir, "q.gguf", "SIGINT");
    expect(r.code, r.err).to.equal(130);
    expect(leftovers(dir)).to.deep.equal([]);
    expect(existsSync(join(dir, "q.gguf"))).to.equal(false);
  });

  it("convert to an HF folder: SIGTERM mid-write exits 143 and leaves no OUT.tmp-<pid>/", async () => {
    const r = await interrupted(["convert", model, join(dir, "hf-out"), "--to", "hf", "--dtype", "f16"], dir, "hf-out", "SIGTERM");
    expect(r.code, r.err).to.equal(143);
    expect(leftovers(dir)).to.deep.equal([]);
    expect(existsSync(join(dir, "hf-out"))).to.equal(false);
  });

  it("synth: SIGTERM mid-write exits 143 and leaves no OUT.tmp-<pid>", async () => {
    const r = await interrupted(["synth", "--shape", "tiny", "--type", "q4_k", "-o", join(dir, "s.gguf")], dir, "s.gguf", "SIGTERM");
    expect(r.code, r.err).to.equal(143);
    expect(leftovers(dir)).to.deep.equal([]);
  });

  it("a stale OUT.tmp-<pid> of a dead process is removed by the next run writing OUT; a live one's is kept", async () => {
    const out = join(dir, "again.gguf");
    writeFileSync(`${out}.tmp-999999999`, "partial"); // no such pid
    writeFileSync(`${out}.tmp-${process.ppid}`, "someone alive"); // a live process (our parent)
    const r = await runMain(["quantize", model, out, "q8_0"]);
    expect(r.code, r.err).to.equal(0);
    expect(existsSync(`${out}.tmp-999999999`)).to.equal(false);
    expect(existsSync(`${out}.tmp-${process.ppid}`)).to.equal(true);
    rmSync(`${out}.tmp-${process.ppid}`);
  });
});

describe("cli writers: one rule for output paths in missing folders (defect 2)", function () {
  this.timeout(120000);
  let dir = "";
  let model = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-paths-"));
    model = join(dir, "m.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "f16", seed: 2 });
    writeFileSync(join(dir, "a-file"), "x");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, (out: string) => string[]][] = [
    ["quantize", (out) => ["quantize", model, out, "q8_0"]],
    ["synth -o", (out) => ["synth", "--shape", "tiny", "--type", "q8_0", "-o", out]],
    ["convert to a file", (out) => ["convert", model, out]],
    ["logits --out", (out) => ["logits", "-m", model, "--ids", "1,2,3", "--out", out]],
  ];
  for (const [what, args] of cases) {
    it(`${what}: missing folders are created (mkdir -p); a parent that is a file is one line, exit 2`, async () => {
      const ok = join(dir, "new", what.replace(/\W+/g, "-"), "out.gguf");
      const r = await runMain(args(ok));
      expect(r.code, r.err).to.equal(0);
      expect(existsSync(ok)).to.equal(true);
      const bad = await runMain(args(join(dir, "a-file", "out.gguf")));
      expect(bad.code).to.equal(2);
      expect(bad.err).to.match(oneLine);
      expect(bad.err).to.contain("cannot write").and.contain("a-file");
    });
  }
});

describeConformance("cli writers: adapters are not models (defect 3)", ["tiny/lora-llama/adapter_model.bin"], () => {
  for (const args of [["convert"], ["quantize"]]) {
    it(`${args[0]} of a PEFT adapter exits 2 with one line saying how to merge it or use --lora`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "llamats-peft-"));
      try {
        const r = await runMain([...args, fixturePath("tiny/lora-llama"), join(dir, "x.gguf"), ...(args[0] === "quantize" ? ["q8_0"] : [])]);
        expect(r.code).to.equal(2);
        expect(r.err).to.match(oneLine);
        expect(r.err).to.contain("PEFT LoRA adapter").and.contain("llamats merge").and.contain("--lora");
        expect(readdirSync(dir)).to.deep.equal([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describeConformance("cli writers: Meta params.json and the smaller defects (7, 9)", ["tiny/base/model.safetensors", "llamacpp-vocab/ggml-vocab-llama-spm.gguf", "stories260K/stories260K.bin"], function () {
  this.timeout(120000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-d9-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("convert --to pth derives multiple_of so that Meta's formula gives the model's ffn width (172 for dim 64)", async () => {
    const out = join(dir, "pth");
    const r = await runMain(["convert", fixturePath("tiny/base"), out, "--to", "pth"]);
    expect(r.code, r.err).to.equal(0);
    const params = JSON.parse(readFileSync(join(out, "params.json"), "utf8"));
    const m = params.multiple_of;
    expect(m * Math.ceil(Math.floor((8 * params.dim) / 3) / m)).to.equal(172);
    expect(m).to.equal(4);
    const back = openModelSourceSync(out);
    try {
      expect(back.config.feedForwardLength).to.equal(172);
    } finally {
      back.close();
    }
  });

  it("convert x.gguf out.pth (a file name) is refused: Meta checkpoints are folders", async () => {
    const r = await runMain(["convert", fixturePath("tiny/base"), join(dir, "out.pth")]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(oneLine).and.to.contain("--to pth");
    expect(existsSync(join(dir, "out.pth"))).to.equal(false);
  });

  it("convert of a model without a tokenizer warns that llama.cpp will not load the GGUF", async () => {
    const out = join(dir, "stories.gguf");
    const r = await runMain(["convert", fixturePath("stories260K/stories260K.bin"), out]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/warning: .*stories\.gguf has no tokenizer/);
    const withTok = await runMain(["convert", fixturePath("tiny/base"), join(dir, "tok.gguf")]);
    expect(withTok.err).not.to.contain("has no tokenizer");
  });

  it("quantize of a vocabulary-only GGUF exits 2 and writes nothing", async () => {
    const out = join(dir, "vocab-q4.gguf");
    const r = await runMain(["quantize", fixturePath("llamacpp-vocab/ggml-vocab-llama-spm.gguf"), out, "q4_0"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(oneLine).and.to.contain("no tensors");
    expect(existsSync(out)).to.equal(false);
  });

  it("--format gguf on a Hugging Face folder is refused, not ignored", async () => {
    const r = await runMain(["convert", fixturePath("tiny/base"), join(dir, "f.gguf"), "--format", "gguf"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(oneLine).and.to.contain("is a folder");
  });

  it("requantising a q4_0 model is refused without --allow-requantize, and warned about with it", async () => {
    const q4 = join(dir, "q4.gguf");
    expect((await runMain(["quantize", fixturePath("tiny/base"), q4, "q4_0"])).code).to.equal(0);
    const q8 = join(dir, "q8-from-q4.gguf");
    const r = await runMain(["quantize", q4, q8, "q8_0"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(oneLine).and.to.contain("--allow-requantize");
    expect(existsSync(q8)).to.equal(false);
    const ok = await runMain(["quantize", q4, q8, "q8_0", "--allow-requantize"]);
    expect(ok.code, ok.err).to.equal(0);
    expect(ok.err).to.match(/warning: requantised \d+ tensors .*q4_0 -> q8_0/);
    const g = openGguf(q8);
    try {
      expect(ggmlTypeInfo(g.tensor("blk.0.attn_q.weight")!.type)!.name).to.equal("q8_0");
    } finally {
      g.close();
    }
  });
});

