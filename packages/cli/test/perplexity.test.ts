// `llamats perplexity`: the issue-14 contract (flags, stdout/stderr, exit 2 on a short text),
// the CLI's number equal to the library's, the token-id path, --save-logits then
// --kl-divergence on a quantised model.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, perplexity, writeSyntheticModel } from "@llamats/engine";
import { repoRoot } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";

describe("cli perplexity", function () {
  this.timeout(300_000);
  let dir = "";
  let f16 = "";
  let q8 = "";
  const text = join(repoRoot(), "fixtures/perplexity/river-town.txt");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-ppl-cli-"));
    f16 = join(dir, "tiny-f16.gguf");
    q8 = join(dir, "tiny-q8_0.gguf");
    writeSyntheticModel(f16, { shape: "tiny", type: "f16", seed: 3 });
    writeSyntheticModel(q8, { shape: "tiny", type: "q8_0", seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--help names the issue's flags", async () => {
    const r = await runMain(["perplexity", "--help"]);
    expect(r.code).to.equal(0);
    for (const flag of ["-m,", "-f,", "--ctx-size", "--batch", "--chunks", "--threads", "--json", "--save-logits", "--kl-divergence"]) expect(r.out).to.include(flag);
  });

  it("prints [i]ppl per chunk on stderr and the final estimate on stdout; --json equals the library", async () => {
    const r = await runMain(["perplexity", "-m", f16, "-f", text, "-c", "64", "--chunks", "5", "--backend", "ts"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/\[1\]\d+\.\d{4},\[2\]\d+\.\d{4},\[3\]\d+\.\d{4},\[4\]\d+\.\d{4},\[5\]\d+\.\d{4},\n/);
    expect(r.out).to.match(/^Final estimate: PPL = \d+\.\d{4} \+\/- \d+\.\d{5}\n$/);
    const j = JSON.parse((await runMain(["perplexity", "-m", f16, "-f", text, "-c", "64", "--chunks", "5", "--backend", "ts", "--batch", "7", "--json"])).out);
    const m = await loadModel(f16, { backend: "ts", nCtx: 64 });
    try {
      const lib = await perplexity(m, m.tokenize(readFileSync(text, "utf8"), { bos: true }), { nCtx: 64, chunks: 5, bosId: m.tokenizer.bosId });
      expect(j.ppl).to.equal(lib.ppl); // --batch changes passes, not the result
      expect(j.stdErr).to.equal(lib.stdErr);
      expect(j.chunks).to.deep.equal(lib.chunks);
      expect([j.nCtx, j.nChunk, j.tokensScored]).to.deep.equal([64, 5, 5 * 31]);
      expect(r.out).to.include(`PPL = ${lib.ppl.toFixed(4)} +/- ${lib.stdErr.toFixed(5)}`);
    } finally {
      m.dispose();
    }
  });

  it("a text shorter than two chunks: one line, exit 2", async () => {
    const short = join(dir, "short.txt");
    writeFileSync(short, "只有几句话。A few words only.");
    const r = await runMain(["perplexity", "-m", f16, "-f", short, "-c", "64"]);
    expect(r.code).to.equal(2);
    expect(r.out).to.equal("");
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(r.err).to.match(/^llamats: perplexity: the text tokenizes to only \d+ tokens; at least 128/);
  });

  it("--token-ids: ids in a file (BOS added) give the same figure as the text", async () => {
    const m = await loadModel(f16, { backend: "ts", nCtx: 64 });
    const ids = m.tokenize(readFileSync(text, "utf8"), { bos: false });
    m.dispose();
    const idsFile = join(dir, "ids.txt");
    writeFileSync(idsFile, ids.join(" ") + "\n");
    const a = JSON.parse((await runMain(["perplexity", "-m", f16, "-f", idsFile, "--token-ids", "-c", "64", "--chunks", "2", "--json"])).out);
    const b = JSON.parse((await runMain(["perplexity", "-m", f16, "-f", text, "-c", "64", "--chunks", "2", "--json"])).out);
    expect(a.ppl).to.equal(b.ppl);
    writeFileSync(idsFile, "1 2 x 4");
    const bad = await runMain(["perplexity", "-m", f16, "-f", idsFile, "--token-ids"]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/ids\.txt: token 3 "x"/);
  });

  it("--save-logits then --kl-divergence: the same model gives KL ~ 0; Q8_0 a small KL, top-1 mostly agreeing", async () => {
    const base = join(dir, "base.logprobs");
    const s = await runMain(["perplexity", "-m", f16, "-f", text, "-c", "64", "--chunks", "4", "--save-logits", base, "--json"]);
    expect(s.code, s.err).to.equal(0);
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).to.deep.equal([]);
    expect(existsSync(base)).to.equal(true);
    const self = JSON.parse((await runMain(["perplexity", "-m", f16, "--kl-divergence", base, "--json"])).out);
    expect(self.count).to.equal(4 * 31);
    expect(self.sameTop.value).to.equal(1);
    expect(self.kld.value).to.be.lessThan(1e-5);
    expect(Math.abs(self.pplQ.value - JSON.parse(s.out).ppl) / self.pplQ.value).to.be.lessThan(1e-5);
    const r = await runMain(["perplexity", "-m", q8, "--kl-divergence", base]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/Mean PPL\(Q\)-PPL\(base\)\s+: -?\d+\.\d{6} ± \d+\.\d{6}/);
    expect(r.out).to.match(/Mean {4}KLD: \d+\.\d{6} ± \d+\.\d{6}/);
    const q = JSON.parse((await runMain(["perplexity", "-m", q8, "--kl-divergence", base, "--json"])).out);
    expect(q.kld.value).to.be.greaterThan(0).and.lessThan(0.05);
    expect(q.sameTop.value).to.be.greaterThan(0.8);
    const bad = await runMain(["perplexity", "-m", q8, "--kl-divergence", text]);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.match(/river-town\.txt: magic at byte 0/);
  });
});

describe("cli perplexity / ceval: Ctrl-C", function () {
  this.timeout(300_000);
  let dir = "";
  let model = "";
  const bin = join(repoRoot(), "packages/cli/src/bin.ts");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-ppl-int-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "f16", seed: 8 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Run the CLI in a child, send SIGINT once stderr matches `when`; resolve with the exit code and stderr. */
  function interrupt(args: string[], when: RegExp): Promise<{ code: number | null; err: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["--conditions=source", "--import=tsx", bin, ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      let sent = false;
      child.stderr.on("data", (d) => {
        err += String(d);
        if (!sent && when.test(err)) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.on("exit", (code) => resolve({ code, err }));
    });
  }

  it("perplexity --save-logits: exit 130, neither the file nor its temp is left", async () => {
    const base = join(dir, "base.logprobs");
    const r = await interrupt(["perplexity", "-m", model, "-f", join(repoRoot(), "fixtures/perplexity/river-town.txt"), "-c", "64", "--save-logits", base, "--backend", "ts"], /\[1\]/);
    expect(r.code, r.err).to.equal(130);
    expect(readdirSync(dir).filter((n) => n.startsWith("base.logprobs"))).to.deep.equal([]);
  });

  it("ceval: exit 130; the finished subjects stay in OUT and the rerun resumes them", async () => {
    const out = join(dir, "ceval-out");
    const args = ["ceval", "-m", model, "--data", join(repoRoot(), "fixtures/ceval-mini"), "--shots", "0", "--out", out, "--backend", "ts"];
    const r = await interrupt(args, /\[2\/4\] high_school_geography/);
    expect(r.code, r.err).to.equal(130);
    expect(r.err).to.match(/interrupted; rerun with the same --out to resume/);
    expect(existsSync(join(out, "take0/.partial/computer_network.json"))).to.equal(true);
    expect(existsSync(join(out, "take0/summary.json"))).to.equal(false);
    const again = await runMain(args);
    expect(again.code, again.err).to.equal(0);
    expect(again.err).to.match(/computer_network: 4 questions, resumed/);
    expect(Object.keys(JSON.parse(readFileSync(join(out, "take0/summary.json"), "utf8")))).to.deep.equal([
      "computer_network", "high_school_geography", "logic", "middle_school_mathematics", "grouped", "All",
    ]);
  });
});
