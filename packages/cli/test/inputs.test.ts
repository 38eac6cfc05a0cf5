// Issue 15, defects 5, 6 and 9 (inputs and reports): long id lists from a file or stdin, one
// type table for quantize and merge with fallbacks reported, logits refusing a terminal, no
// command, and generation_config's do_sample at temperature 0.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { writeSyntheticModel } from "@llamats/engine";
import { openGguf } from "@llamats/formats";
import { ggmlTypeInfo } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";
import { bin, llamats } from "./helpers/spawn.js";

const oneLine = /^llamats: [^\n]+\n$/;

describeConformance("cli inputs: token ids from a file or stdin (defect 5)", ["tokenizers/llama/tokenizer.model"], function () {
  this.timeout(120000);
  let dir = "";
  const tok = () => fixturePath("tokenizers/llama/tokenizer.model");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-ids-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("detokenize reads a 300 KB id list (too long for an argument list) from --ids-file and from stdin (--ids -)", () => {
    const text = "Hello world, 你好世界. ".repeat(6000);
    const t = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", bin, "tokenize", "-t", tok()], { input: text, maxBuffer: 1 << 26 });
    expect(t.status, t.stderr.toString()).to.equal(0);
    const idsText = t.stdout.toString();
    expect(idsText.length).to.be.above(270_000);
    const idsFile = join(dir, "ids.txt");
    writeFileSync(idsFile, idsText);
    const a = llamats(["detokenize", "-t", tok(), "--ids-file", idsFile]);
    expect(a.code, a.err).to.equal(0);
    expect(a.out).to.equal(text + "\n");
    const b = llamats(["detokenize", "-t", tok(), "--ids", "-"], idsText);
    expect(b.code, b.err).to.equal(0);
    expect(b.out).to.equal(text + "\n");
  });

  it("a bad id in --ids-file is one line naming the file, exit 2; --ids and --ids-file together are refused", async () => {
    const bad = join(dir, "bad.txt");
    writeFileSync(bad, "1,2,x3");
    const r = await runMain(["detokenize", "-t", tok(), "--ids-file", bad]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(oneLine).and.contain(bad).and.contain('"x3"');
    const both = await runMain(["detokenize", "-t", tok(), "--ids", "1", "--ids-file", bad]);
    expect(both.code).to.equal(2);
    expect(both.err).to.match(oneLine);
  });
});

describe("cli inputs: logits ids from a file or stdin, TTY refusal, no command, do_sample (defects 5, 9)", function () {
  this.timeout(180000);
  let dir = "";
  let model = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-logits-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("logits --ids-file FILE and --ids - (stdin) give the bytes --ids gives", () => {
    const ids = "1, 15, 200\n7,9";
    const a = llamats(["logits", "-m", model, "--ids", "1,15,200,7,9"]);
    expect(a.code, a.err).to.equal(0);
    expect(a.stdout.length).to.be.above(0);
    writeFileSync(join(dir, "ids.txt"), ids);
    const b = llamats(["logits", "-m", model, "--ids-file", join(dir, "ids.txt")]);
    expect(b.code, b.err).to.equal(0);
    expect(b.stdout.equals(a.stdout)).to.equal(true);
    const c = llamats(["logits", "-m", model, "--ids", "-"], ids);
    expect(c.code, c.err).to.equal(0);
    expect(c.stdout.equals(a.stdout)).to.equal(true);
  });

  it("logits without --out refuses to write binary to a terminal (one line, exit 2)", () => {
    // script(1) gives the command a pseudo-terminal as stdout.
    const cmd = [process.execPath, "--conditions=source", "--import=tsx", bin, "logits", "-m", model, "--ids", "1,2"].map((a) => `'${a}'`).join(" ");
    const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8", timeout: 60000 });
    expect(r.status).to.equal(2);
    expect(r.stdout).to.match(/llamats: logits are binary float32: give --out FILE/);
  });

  it("llamats with no command: the usage on stderr, nothing on stdout, exit 1", async () => {
    const r = await runMain([]);
    expect(r.code).to.equal(1);
    expect(r.out).to.equal("");
    expect(r.err).to.match(/^Usage: llamats \[options\] \[command\]/);
    expect(r.err).to.contain("quantize");
  });

  it("--data-file at temperature 0 writes do_sample: false in generation_config.json", async () => {
    const data = join(dir, "data.txt");
    writeFileSync(data, "Hello\n");
    const pred = join(dir, "greedy", "predictions.json");
    const r = await runMain(["generate", "-m", model, "--data-file", data, "--predictions-file", pred, "-n", "2", "--temp", "0"]);
    expect(r.code, r.err).to.equal(0);
    const cfg = JSON.parse(readFileSync(join(dir, "greedy", "generation_config.json"), "utf8"));
    expect(cfg.temperature).to.equal(0);
    expect(cfg.do_sample).to.equal(false);
  });
});

describeConformance("cli: one type table for quantize and merge, fallbacks reported (defect 6)", ["tiny/base/model.safetensors", "tiny/lora-llama/adapter_model.bin"], function () {
  this.timeout(180000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-types-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("quantize takes q3_k (as merge --dtype does) and reports each fallback as llama.cpp does", async () => {
    const out = join(dir, "q3.gguf");
    const r = await runMain(["quantize", fixturePath("tiny/base"), out, "q3_k"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/warning: blk\.0\.attn_q\.weight - ncols 64 not divisible by 256 \(required for type q3_K\) -> falling back to q4_0/);
    const g = openGguf(out);
    try {
      expect(ggmlTypeInfo(g.tensor("blk.0.attn_q.weight")!.type)!.name).to.equal("q4_0");
      expect(g.metadata["general.file_type"]).to.equal(11);
    } finally {
      g.close();
    }
  });

  it("merge --dtype q2_k on a 64-wide base says which tensors fell back, and to what", async () => {
    const out = join(dir, "merged-q2k");
    const r = await runMain(["merge", "--base", fixturePath("tiny/base"), "--lora", fixturePath("tiny/lora-llama"), "--output-type", "gguf", "--dtype", "q2_k", "--out", out]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/warning: blk\.1\.attn_q\.weight - ncols 64 not divisible by 256 \(required for type q2_K\) -> falling back to q4_0/);
    expect(r.err).to.match(/merge: \d+ tensors fell back from --dtype q2_k/);
    const bad = await runMain(["merge", "--base", fixturePath("tiny/base"), "--lora", fixturePath("tiny/lora-llama"), "--output-type", "gguf", "--dtype", "q9_9", "--out", join(dir, "x")]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(oneLine).and.contain("unknown quantisation type");
  });
});
