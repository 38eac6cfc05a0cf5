// `llamats tokenize / detokenize / vocab-merge` as a user runs them (spawned from sources).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeConformance, fixturePath } from "@llamats/testkit";

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));

function llamats(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", bin, ...args], {
    encoding: "utf8",
    timeout: 90000,
    input,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const ZH = "tokenizers/chinese_llama/tokenizer.model";
const GGUF = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";

describeConformance("cli: tokenize / detokenize", [ZH, GGUF, "tokenizer-vectors/chinese_llama.shared.jsonl"], () => {
  it("--jsonl: one {ids} line per {text} line, in order, BOS only with --bos", () => {
    const rows = readFileSync(fixturePath("tokenizer-vectors/chinese_llama.shared.jsonl"), "utf8")
      .trim()
      .split("\n")
      .slice(0, 40)
      .map((l) => JSON.parse(l) as { text: string; ids: number[]; ids_with_bos: number[] });
    const input = rows.map((r) => JSON.stringify({ text: r.text })).join("\n") + "\n";
    const plain = llamats(["tokenize", "-t", fixturePath(ZH), "--jsonl"], input);
    expect(plain.code, plain.err).to.equal(0);
    expect(plain.out.trim().split("\n").map((l) => JSON.parse(l))).to.deep.equal(rows.map((r) => ({ ids: r.ids })));
    const bos = llamats(["tokenize", "-t", fixturePath(ZH), "--jsonl", "--bos"], input);
    expect(bos.out.trim().split("\n").map((l) => JSON.parse(l).ids)).to.deep.equal(rows.map((r) => r.ids_with_bos));
  });

  it("-p prints ids (and pieces with --pieces); a .gguf works as MODEL; detokenize inverts", () => {
    const r = llamats(["tokenize", "-t", fixturePath(GGUF), "-p", "Hello world", "--pieces"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal('15043,3186\n["▁Hello","▁world"]\n');
    const d = llamats(["detokenize", "-t", fixturePath(ZH), "--ids", "1,29871,30919,31076"]);
    expect(d.code, d.err).to.equal(0);
    expect(d.out).to.equal("你好\n");
  });

  it("bad input exits 2 with one line on stderr", () => {
    const outOfRange = llamats(["detokenize", "-t", fixturePath(ZH), "--ids", "1,99999"]);
    expect(outOfRange.code).to.equal(2);
    expect(outOfRange.err).to.match(/^llamats: --ids: 99999 is outside the vocabulary/);
    const badJson = llamats(["tokenize", "-t", fixturePath(ZH), "--jsonl"], '{"text":"a"}\n{"tex\n');
    expect(badJson.code).to.equal(2);
    expect(badJson.err).to.match(/stdin line 2: not JSON/);
  });
});

describeConformance("cli: vocab-merge", ["tokenizers/llama/tokenizer.model", "tokenizers/chinese_sp/chinese_sp.model"], () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-cli-vocab-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the published Chinese-Alpaca tokenizer.model byte for byte (--add-pad), atomically", () => {
    const out = join(dir, "alpaca.model");
    const r = llamats(["vocab-merge", "--base", fixturePath("tokenizers/llama/tokenizer.model"), "--add", fixturePath("tokenizers/chinese_sp/chinese_sp.model"), "-o", out, "--add-pad"]);
    expect(r.code, r.err).to.equal(0);
    const sha = createHash("sha256").update(readFileSync(out)).digest("hex");
    expect(sha).to.equal("2d967e855b1213a439df6c8ce2791f869c84b4f3b6cfacf22b86440b8192a2f8");
    expect(r.out).to.equal(`${sha}  ${out}\n`);
    expect(r.err).to.match(/32000 \+ 17953 pieces \+ \[PAD\] = 49954/);
    expect(readdirSync(dir)).to.deep.equal(["alpaca.model"]); // no temp file left
  });

  it("a corrupt input exits 2 and writes nothing", () => {
    const out = join(dir, "bad.model");
    const r = llamats(["vocab-merge", "--base", bin, "--add", fixturePath("tokenizers/chinese_sp/chinese_sp.model"), "-o", out]);
    expect(r.code).to.equal(2);
    expect(existsSync(out)).to.equal(false);
  });
});
