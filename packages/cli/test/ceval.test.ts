// `llamats ceval` on the synthetic tiny model and fixtures/ceval-mini: the contract's flags,
// constrained answers equal to what `llamats logits` gives for the same prompt (processed as
// HF does: penalty 1.1 over the prompt ids, / T), the seed's files and shapes, --save-prompts,
// --do-save-csv, resume, and bad data (one line, exit 2).
import { expect } from "chai";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cevalPrompt, readSplit, loadModel, writeSyntheticModel } from "@llamats/engine";
import { repoRoot } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";

describe("cli ceval", function () {
  this.timeout(600_000);
  let dir = "";
  let model = "";
  const data = join(repoRoot(), "fixtures/ceval-mini");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-ceval-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "f16", seed: 4 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--help names the issue's flags", async () => {
    const r = await runMain(["ceval", "--help"]);
    expect(r.code).to.equal(0);
    for (const f of ["--model", "--data", "--split", "--shots", "--with-prompt", "--cot", "--constrained", "--generate", "--temperature", "--subjects", "--out", "--n-times", "--do-save-csv", "--do-test", "--save-prompts"]) {
      expect(r.out).to.include(f);
    }
  });

  it("constrained answers are argmax_X(s[▁X] + s[X]) of `llamats logits` processed as the seed; files in the seed's shapes; resume", async () => {
    const out = join(dir, "out");
    const prompts = join(dir, "prompts.json");
    const args = ["ceval", "-m", model, "--data", data, "--subjects", "computer_network,logic", "--shots", "0", "--with-prompt", "--out", out, "--save-prompts", prompts, "--do-save-csv"];
    const r = await runMain(args);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/take0 \[1\/2\] computer_network/);
    expect(r.out).to.match(/^take0: All \d\.\d{4} \(\d+\/7\) -> /);

    const sub = JSON.parse(readFileSync(join(out, "take0/submission.json"), "utf8"));
    const sum = JSON.parse(readFileSync(join(out, "take0/summary.json"), "utf8"));
    expect(Object.keys(sub)).to.deep.equal(["computer_network", "logic"]);
    expect(Object.keys(sub.computer_network)).to.deep.equal(["0", "1", "2", "3"]);
    expect(Object.keys(sum)).to.deep.equal(["computer_network", "logic", "grouped", "All"]);
    expect(Object.keys(sum.grouped)).to.deep.equal(["STEM", "Social Science", "Humanities", "Other"]);
    expect(Object.keys(sum.computer_network)).to.deep.equal(["score", "num", "correct"]);
    expect(Object.keys(sum.All)).to.deep.equal(["score", "num", "correct"]);

    const savedPrompts = JSON.parse(readFileSync(prompts, "utf8"));
    const m = await loadModel(model, { backend: "ts" });
    const sA = ["A", "B", "C", "D"].map((c) => m.tokenize(c)[0]);
    const bA = ["A", "B", "C", "D"].map((c) => m.tokenize(`：${c}`, { bos: true }).at(-1)!);
    let correct = 0;
    try {
      for (const subject of ["computer_network", "logic"]) {
        const rows = readSplit(data, "val", subject).rows;
        for (let i = 0; i < rows.length; i++) {
          const prompt = cevalPrompt("", rows[i], { cot: false, withPrompt: true });
          expect(savedPrompts[subject][String(i)]).to.equal(prompt);
          const ids = m.tokenize(prompt, { bos: true });
          const f = join(dir, "logits.bin");
          const lr = await runMain(["logits", "-m", model, "--ids", ids.join(","), "--out", f]);
          expect(lr.code, lr.err).to.equal(0);
          const buf = readFileSync(f);
          const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
          const vocab = m.config.vocabSize;
          const s = Float32Array.from(all.subarray((ids.length - 1) * vocab));
          for (const id of new Set(ids)) s[id] = s[id] < 0 ? s[id] * 1.1 : s[id] / 1.1;
          for (let v = 0; v < vocab; v++) s[v] = s[v] / 0.2;
          const sums = [0, 1, 2, 3].map((k) => Math.fround(s[sA[k]] + s[bA[k]]));
          const best = sums.indexOf(Math.max(...sums));
          expect(sub[subject][String(i)], `${subject} row ${i}: ${sums.join(", ")}`).to.equal("ABCD"[best]);
          correct += "ABCD"[best] === rows[i].answer ? 1 : 0;
        }
      }
    } finally {
      m.dispose();
    }
    expect(sum.All.num).to.equal(7);
    expect(sum.All.correct).to.equal(correct);
    const csv = readFileSync(join(out, "take0/logic_test.csv"), "utf8").split("\n");
    expect(csv[0]).to.equal(",id,question,A,B,C,D,answer,model_output,correctness");
    expect(csv[2]).to.match(/^1,1,下列推理中，有效的是____。,所有A是B，所有B是C，所以所有A是C,/); // Chinese commas: no quotes (QUOTE_MINIMAL)
    expect(readFileSync(join(out, "take0/computer_network_test.csv"), "utf8").split("\n")[4]).to.match(/^3,3,HTTPS在HTTP的基础上增加了什么？,压缩,"加密,认证",缓存,重定向,B,/);

    // Rerun with the same --out: every subject is resumed, nothing evaluated, same files.
    const before = readFileSync(join(out, "take0/summary.json"), "utf8");
    const again = await runMain(args);
    expect(again.code, again.err).to.equal(0);
    expect(again.err).to.match(/computer_network: 4 questions, resumed/);
    expect(again.err).to.match(/logic: 3 questions, resumed/);
    expect(readFileSync(join(out, "take0/summary.json"), "utf8")).to.equal(before);
    // Other settings in the same --out: refused.
    const other = await runMain([...args.slice(0, -5), "--out", out, "--cot"]);
    expect(other.code).to.equal(2);
    expect(other.err).to.match(/\.partial\/computer_network\.json: a result of a run with other settings/);
  });

  it("--do-test: answers only (NA expected, score 0), n-times gives take0 and take1", async () => {
    const out = join(dir, "out-test");
    const r = await runMain(["ceval", "-m", model, "--data", data, "--subjects", "high_school_geography", "--shots", "0", "--do-test", "--n-times", "2", "--out", out]);
    expect(r.code, r.err).to.equal(0);
    for (const t of ["take0", "take1"]) {
      const sub = JSON.parse(readFileSync(join(out, t, "submission.json"), "utf8"));
      expect(Object.keys(sub.high_school_geography)).to.deep.equal(["0"]);
      expect(["A", "B", "C", "D"]).to.include(sub.high_school_geography["0"]);
      const sum = JSON.parse(readFileSync(join(out, t, "summary.json"), "utf8"));
      expect(sum.high_school_geography).to.deep.equal({ score: 0, num: 1, correct: 0 });
    }
  });

  it("--split test without --do-test: the test CSV has no answers, one line, exit 2", async () => {
    const r = await runMain(["ceval", "-m", model, "--data", data, "--subjects", "logic", "--shots", "0", "--split", "test", "--out", join(dir, "out-split")]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/logic_test\.csv: no "answer" column to score against .*--do-test/);
  });

  it("a malformed CSV row: one line naming the file and the line, exit 2", async () => {
    const bad = join(dir, "bad");
    cpSync(data, bad, { recursive: true });
    const f = join(bad, "val/logic_val.csv");
    writeFileSync(f, readFileSync(f, "utf8") + '3,"未闭合的引号,A,B,C,D,A\n');
    const r = await runMain(["ceval", "-m", model, "--data", bad, "--subjects", "logic", "--shots", "0", "--out", join(dir, "out-bad")]);
    expect(r.code).to.equal(2);
    expect(r.err.trim().split("\n").filter((l) => l.startsWith("llamats:"))).to.have.length(1);
    expect(r.err).to.match(/logic_val\.csv: line 5 at byte \d+: a quoted field is never closed/);
    expect(existsSync(join(dir, "out-bad/take0/summary.json"))).to.equal(false);
  });
});

describe("cli ceval --generate", function () {
  this.timeout(600_000);
  let dir = "";
  let model = "";
  const data = join(repoRoot(), "fixtures/ceval-mini");
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-ceval-gen-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 6 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("free generation: the submission holds what the seed's rules extract from model_output; seeded, so reruns agree", async () => {
    const run = (out: string) => runMain(["ceval", "-m", model, "--data", data, "--subjects", "middle_school_mathematics", "--shots", "0", "--generate", "--do-save-csv", "--out", join(dir, out)]);
    const a = await run("a");
    expect(a.code, a.err).to.equal(0);
    const b = await run("b");
    expect(b.code, b.err).to.equal(0);
    const subA = readFileSync(join(dir, "a/take0/submission.json"), "utf8");
    expect(readFileSync(join(dir, "b/take0/submission.json"), "utf8")).to.equal(subA);
    const csvA = readFileSync(join(dir, "a/take0/middle_school_mathematics_test.csv"), "utf8");
    expect(readFileSync(join(dir, "b/take0/middle_school_mathematics_test.csv"), "utf8")).to.equal(csvA);
    const answers = JSON.parse(subA).middle_school_mathematics;
    const rows = readSplit(data, "val", "middle_school_mathematics").rows;
    // Re-read model_output from the CSV (the last two columns) and apply the rules here.
    const { parseCsv, extractAnswer } = await import("@llamats/engine");
    const t = parseCsv(csvA, "a.csv");
    expect(t.header.slice(-2)).to.deep.equal(["model_output", "correctness"]);
    t.rows.forEach((r, i) => {
      const output = r[r.length - 2];
      const e = extractAnswer(rows[i], output, () => NaN);
      if (e.rule < 5) expect(answers[String(i)], `row ${i}: ${JSON.stringify(output)}`).to.equal(e.answer);
      else expect(["A", "B", "C", "D"]).to.include(answers[String(i)]);
      expect(r[r.length - 1]).to.equal(answers[String(i)] === rows[i].answer ? "1" : "0");
    });
  });
});
