// Issue 15, gaps next to llama.cpp's tools: --tokenizer PATH for a model without one (a
// SentencePiece .model, a GGUF, llama2.c's tokenizer.bin), --json lines for generate and
// tokenize -p, --lora-scaled, and defect 8 (an adapter of another base refused up front).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { writeSyntheticModel } from "@llamats/engine";
import { openGguf, tokenizerModelFromGguf } from "@llamats/formats";
import { Tokenizer, encodeLlama2cTokenizer } from "@llamats/tokenizer";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";
import { llamats } from "./helpers/spawn.js";

describe("cli gaps: the flags the issue names, in --help", () => {
  for (const cmd of ["generate", "chat", "logits", "bench", "serve"]) {
    it(`${cmd} --help offers --tokenizer`, async () => {
      const r = await runMain([cmd, "--help"]);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/^\s+--tokenizer <path>/m);
    });
  }
  it("generate offers --ids, --json and --lora-scaled; quantize --allow-requantize; tokenize --json; bench --json", async () => {
    expect((await runMain(["generate", "--help"])).out).to.contain("--ids <ids>").and.contain("--json").and.contain("--lora-scaled <dir scale...>");
    expect((await runMain(["quantize", "--help"])).out).to.contain("--allow-requantize").and.contain("q4_k_m");
    expect((await runMain(["tokenize", "--help"])).out).to.contain("--json");
    expect((await runMain(["detokenize", "--help"])).out).to.contain("--ids-file <file>");
  });
});

describe("cli gaps: --tokenizer PATH, --json lines", function () {
  this.timeout(240000);
  let dir = "";
  let model = ""; // the synthetic tiny model, tokenizer inside
  let bare = ""; // the same weights as a Hugging Face folder without tokenizer.model
  const files: Record<string, string> = {};
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "llamats-gaps-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 5 });
    bare = join(dir, "bare-hf");
    expect((await runMain(["convert", model, bare, "--to", "hf", "--dtype", "f32"])).code).to.equal(0);
    expect(existsSync(join(bare, "tokenizer.model"))).to.equal(true);
    const g = openGguf(model);
    try {
      const tok = Tokenizer.fromGguf(g.metadata);
      files.gguf = model;
      files.model = join(dir, "tokenizer.model");
      writeFileSync(files.model, tokenizerModelFromGguf(model, g.metadata)!);
      files.bin = join(dir, "tokenizer.bin");
      writeFileSync(files.bin, encodeLlama2cTokenizer(tok.vocab.pieces.map((piece, i) => ({ piece, score: tok.vocab.scores[i]! })), tok.bosId, tok.eosId));
    } finally {
      g.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const args = ["-p", "Once upon a time, 中国", "-n", "12", "--temp", "0", "--seed", "1"];
  it("generate -m MODEL-WITHOUT-TOKENIZER --tokenizer (.model | .gguf | tokenizer.bin) writes what the model with its own tokenizer writes", () => {
    const ref = llamats(["generate", "-m", bare, ...args]); // tokenizer.model still beside the weights
    expect(ref.code, ref.err).to.equal(0);
    expect(ref.out.trim().length).to.be.above(0);
    rmSync(join(bare, "tokenizer.model"));
    const none = llamats(["generate", "-m", bare, ...args]);
    expect(none.code).to.equal(2);
    for (const kind of ["model", "gguf", "bin"]) {
      const r = llamats(["generate", "-m", bare, "--tokenizer", files[kind]!, ...args]);
      expect(r.code, `${kind}: ${r.err}`).to.equal(0);
      expect(r.out, kind).to.equal(ref.out);
    }
  });

  it("chat, logits and bench take --tokenizer too", () => {
    const chat = llamats(["chat", "-m", bare, "--tokenizer", files.bin!, "-n", "4", "--temp", "0"], "hello\n");
    expect(chat.code, chat.err).to.equal(0);
    const a = llamats(["logits", "-m", bare, "--tokenizer", files.bin!, "--ids", "1,5,9"]);
    const b = llamats(["logits", "-m", bare, "--ids", "1,5,9"]);
    expect(a.code, a.err).to.equal(0);
    expect(a.stdout.equals(b.stdout)).to.equal(true);
    const bench = llamats(["bench", "-m", bare, "--tokenizer", files.model!, "-p", "4", "-n", "0", "-r", "1", "--threads", "1"]);
    expect(bench.code, bench.err).to.equal(0);
  });

  it("generate --json: one {\"text\"} line per token, then {\"done\"} with the generated ids; the text is the plain run's", () => {
    const plain = llamats(["generate", "-m", model, ...args]);
    const r = llamats(["generate", "-m", model, ...args, "--json"]);
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.pop()!;
    expect(done).to.include({ done: true, seed: 1 });
    expect(done.stop).to.be.a("string");
    for (const l of lines) expect(Object.keys(l)).to.deep.equal(["text"]);
    const text = lines.map((l) => l.text).join("");
    expect(text + (text.endsWith("\n") ? "" : "\n")).to.equal(plain.out);
    const ids = done.ids as number[];
    expect(ids.length).to.equal(done.generated_tokens);
    const detok = llamats(["detokenize", "-t", model, "--ids", ids.join(",")]);
    expect(detok.out).to.equal(text + "\n");
    const idsMode = llamats(["generate", "-m", model, "--ids", "1,450", "-n", "3", "--temp", "0", "--json"]);
    expect(idsMode.code, idsMode.err).to.equal(0);
    const il = idsMode.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(il.pop()).to.include({ done: true });
    expect(il.every((l) => typeof l.id === "number")).to.equal(true);
  });

  it("tokenize -p --json prints {\"ids\"} (and \"pieces\" with --pieces), the same ids as the plain line", async () => {
    const plain = await runMain(["tokenize", "-t", model, "-p", "Hello 中国"]);
    const r = await runMain(["tokenize", "-t", model, "-p", "Hello 中国", "--json"]);
    expect(r.code, r.err).to.equal(0);
    const j = JSON.parse(r.out) as { ids: number[] };
    expect(Object.keys(j)).to.deep.equal(["ids"]);
    expect(j.ids.join(",") + "\n").to.equal(plain.out);
    const withPieces = JSON.parse((await runMain(["tokenize", "-t", model, "-p", "Hello 中国", "--json", "--pieces"])).out) as { ids: number[]; pieces: string[] };
    expect(withPieces.pieces.length).to.equal(j.ids.length);
  });
});

describeConformance("cli gaps: --lora-scaled and adapters of another base (defect 8)", ["tiny/base/model.safetensors", "tiny/lora-llama/adapter_model.bin"], function () {
  this.timeout(240000);
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-lora-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--lora-scaled DIR 1 equals --lora DIR; scale 0.5 gives other logits; an odd argument count exits 2", () => {
    const base = fixturePath("tiny/base"), lora = fixturePath("tiny/lora-llama");
    const one = llamats(["logits", "-m", base, "--lora", lora, "--ids", "1,450,4996"]);
    const scaled1 = llamats(["logits", "-m", base, "--lora-scaled", lora, "1", "--ids", "1,450,4996"]);
    const half = llamats(["logits", "-m", base, "--lora-scaled", lora, "0.5", "--ids", "1,450,4996"]);
    expect(one.code, one.err).to.equal(0);
    expect(scaled1.code, scaled1.err).to.equal(0);
    expect(scaled1.stdout.equals(one.stdout)).to.equal(true);
    expect(half.code, half.err).to.equal(0);
    expect(half.stdout.length).to.equal(one.stdout.length);
    expect(half.stdout.equals(one.stdout)).to.equal(false);
    const odd = llamats(["logits", "-m", base, "--lora-scaled", lora, "--ids", "1"]);
    expect(odd.code).to.equal(2);
    expect(odd.err).to.match(/^llamats: [^\n]+\n$/);
  });

  it("a LoRA of another width is refused before the base loads, naming the adapter (one line, exit 2)", () => {
    const wide = join(dir, "wide.gguf"); // width 256; the adapter is for width 64
    writeSyntheticModel(wide, { shape: "tiny", type: "q8_0", seed: 1 });
    const r = llamats(["generate", "-m", wide, "--lora", fixturePath("tiny/lora-llama"), "-p", "hi", "-n", "1"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/^llamats: LoRA \S*lora-llama does not fit the base \S*wide\.gguf: /);
    expect(r.err).to.contain("another base model");
    expect(r.err.split("\n").filter((l) => l).length).to.equal(1);
  });
});
