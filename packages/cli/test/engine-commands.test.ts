// Smoke tests of generate / chat / logits / synth / demo, spawned as a user runs them (from
// the TypeScript sources): exit codes, stdout/stderr separation, output shapes.
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel, writeSyntheticModel } from "@llamats/engine";
import { describeConformance, fixturePath } from "@llamats/testkit";

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));

function llamats(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", bin, ...args], {
    input: input === undefined ? undefined : Buffer.from(input, "utf8"), timeout: 60000,
  });
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString("utf8"), err: r.stderr.toString("utf8") };
}

describe("cli: generate, chat, logits, synth, demo", function () {
  let dir: string;
  let model: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-cli-engine-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 0 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generate streams text to stdout and the speed line to stderr; same seed, same text", () => {
    const args = ["generate", "-m", model, "-p", "Once upon a time", "-n", "6", "--seed", "5", "--backend", "ts"];
    const a = llamats(args);
    expect(a.code, a.err).to.equal(0);
    expect(a.out.trim().length).to.be.greaterThan(0);
    expect(a.out).to.not.match(/tok\/s/);
    expect(a.err).to.match(/prompt: \d+ tokens, [\d.]+ tok\/s \| generation: 6 tokens, [\d.]+ tok\/s/);
    const c = llamats(args);
    expect(c.out).to.equal(a.out);
  });

  it("generate --data-file writes predictions.json and generation_config.json", () => {
    const data = join(dir, "data.txt");
    writeFileSync(data, "为什么要减少污染，保护环境？\n\nHello\n");
    const pred = join(dir, "out", "predictions.json");
    const r = llamats(["generate", "-m", model, "--data-file", data, "--with-prompt", "--predictions-file", pred, "-n", "4", "--seed", "1"]);
    expect(r.code, r.err).to.equal(0);
    const rows = JSON.parse(readFileSync(pred, "utf8")) as { Input: string; Output: string }[];
    expect(rows.length).to.equal(2);
    expect(rows[0].Input).to.equal(
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n\n为什么要减少污染，保护环境？\n\n### Response:\n\n",
    );
    expect(rows[0].Output).to.be.a("string");
    expect(readFileSync(pred, "utf8")).to.contain("为什么"); // UTF-8 as is, like ensure_ascii=False
    const cfg = JSON.parse(readFileSync(join(dir, "out", "generation_config.json"), "utf8"));
    expect(cfg).to.deep.equal({ temperature: 0.2, top_k: 40, top_p: 0.9, do_sample: true, num_beams: 1, repetition_penalty: 1.1, max_new_tokens: 4 });
  });

  it("logits writes float32 LE (nIds, vocab) equal to forward()", async () => {
    const out = join(dir, "logits.bin");
    const r = llamats(["logits", "-m", model, "--ids", "1,5,900", "--out", out, "--backend", "ts"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.stdout.length).to.equal(0);
    const m = await loadModel(model, { backend: "ts" });
    try {
      const v = m.config.vocabSize;
      expect(statSync(out).size).to.equal(3 * v * 4);
      const want = m.forward([1, 5, 900], { pos: 0, logits: "all" });
      const bytes = readFileSync(out);
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      expect(Array.from(got)).to.deep.equal(Array.from(want));
      const s = llamats(["logits", "-m", model, "--ids", "1,5,900", "--backend", "ts"]);
      expect(s.code).to.equal(0);
      expect(Buffer.compare(s.stdout, bytes)).to.equal(0);
    } finally {
      m.dispose();
    }
  });

  it("chat reads piped stdin: replies per line, /reset, end of input quits", () => {
    const r = llamats(["chat", "-m", model, "-n", "4", "--seed", "2"], "你好\n/reset\nHello\n");
    expect(r.code, r.err).to.equal(0);
    expect(r.out.split("\n").filter((l) => l !== "").length).to.be.at.most(2);
    expect(r.err).to.contain("history cleared");
  });

  it("chat whose reader goes away (EPIPE) stops and exits 0 instead of crashing", async () => {
    const p = spawn(process.execPath, ["--conditions=source", "--import=tsx", bin, "chat", "-m", model, "-n", "32", "--seed", "3", "--temp", "0.9"]);
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.stdout.once("data", () => p.stdout.destroy()); // the first reply arrives, then nobody reads
    p.stdin.end("你好\n".repeat(200));
    const code = await new Promise<number | null>((r) => p.on("exit", (c) => r(c)));
    expect(err).to.not.match(/EPIPE|Error/);
    expect(code, err).to.equal(0);
  });

  it("demo builds, quantises and generates offline (reusing valid files)", () => {
    const d = join(dir, "demo");
    const r = llamats(["demo", "--dir", d, "-n", "8"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim().length).to.be.greaterThan(0);
    expect(r.err).to.match(/quantised to q4_0/);
    expect(r.err).to.match(/generation: 8 tokens, [\d.]+ tok\/s/);
    expect(r.err).to.match(/Real models: llamats generate/);
    for (const t of ["f16", "q8_0", "q4_0"]) expect(existsSync(join(d, `llamats-tiny-${t}.gguf`))).to.equal(true);
  });

  it("synth writes a GGUF; bad input exits 2 with one line", () => {
    const out = join(dir, "s.gguf");
    const r = llamats(["synth", "--shape", "tiny", "--type", "q4_0", "-o", out, "--seed", "9"]);
    expect(r.code, r.err).to.equal(0);
    expect(existsSync(out)).to.equal(true);
    const bad = [
      ["synth", "--shape", "huge", "-o", out],
      ["generate", "-m", join(dir, "missing.gguf"), "-p", "x"],
      ["generate", "-m", model, "-p", "x", "--temp", "hot"],
      ["logits", "-m", model, "--ids", "1,999999", "--backend", "ts"],
    ];
    for (const args of bad) {
      const b = llamats(args);
      expect(b.code, `${args.join(" ")}: ${b.err}`).to.equal(2);
      expect(b.err.trim().split("\n").length, b.err).to.be.at.most(2);
      expect(b.err).to.not.match(/internal error|\n\s+at /);
      expect(b.stdout.length).to.equal(0);
    }
  });
});

describeConformance("cli: logits on stories260K (llama2.c .bin) match run.c", ["stories260K/stories260K.bin", "stories260K/reference.json"], () => {
  it("--format llama2c: every position within 1e-3, argmax identical", () => {
    const ref = JSON.parse(readFileSync(fixturePath("stories260K/reference.json"), "utf8")) as {
      sequences: { name: string; tokens: number[]; logits: number[][] }[];
    };
    const seq = ref.sequences.find((s) => s.tokens.length >= 100) ?? ref.sequences[0];
    const r = llamats(["logits", "-m", fixturePath("stories260K/stories260K.bin"), "--format", "llama2c", "--ids", seq.tokens.join(","), "--backend", "ts"]);
    expect(r.code, r.err).to.equal(0);
    const got = new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
    const vocab = 512;
    expect(got.length).to.equal(seq.tokens.length * vocab);
    let maxDiff = 0;
    seq.logits.forEach((row, t) => {
      let best = 0;
      row.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(got[t * vocab + i] - v));
        if (got[t * vocab + i] > got[t * vocab + best]) best = i;
      });
      expect(best).to.equal(row.indexOf(Math.max(...row)));
    });
    expect(maxDiff).to.be.lessThan(1e-3);
  });
});
