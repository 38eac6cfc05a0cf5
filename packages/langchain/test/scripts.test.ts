// The example scripts as a user runs them (spawned, from the TypeScript sources): the QA
// script's question loop on stdin (ends at an empty line, as the seed's), the summary script,
// and a bad flag (one line, exit 2).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "@llamats/testkit";
import { writeSyntheticModel } from "@llamats/engine";
import { chineseDocument } from "./helpers.js";

function run(script: string, args: string[], input = "") {
  const r = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", join(repoRoot(), "docs", "examples", script), ...args], {
    input, encoding: "utf8", timeout: 240000, cwd: repoRoot(),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("docs/examples scripts (spawned)", function () {
  this.timeout(300000);
  let dir: string;
  let model: string;
  let doc: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-langchain-scripts-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 0 });
    doc = join(dir, "doc.txt");
    writeFileSync(doc, chineseDocument());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("langchain-qa.ts: answers each question from stdin until an empty line (stuff)", () => {
    const r = run("langchain-qa.ts", ["--file_path", doc, "--model_path", model, "--chain_type", "stuff", "--max_tokens", "4"], "为什么要减少污染？\n保护环境\n\n不会被问到\n");
    expect(r.code, r.err).to.equal(0);
    expect(r.out.split("\n").filter((l) => l.trim() !== "").length).to.be.within(1, 2); // two answers (one may be blank)
    expect(r.out.split("\n").length).to.equal(3); // two lines and the final newline
  });

  it("langchain-sum.ts: prints a summary (refine, the seed's default)", () => {
    const r = run("langchain-sum.ts", ["--file_path", doc, "--model_path", model, "--max_tokens", "4"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.endsWith("\n")).to.equal(true);
  });

  it("a bad flag or chain type is one line on stderr, exit 2", () => {
    const a = run("langchain-sum.ts", ["--file_path", doc, "--model_path", model, "--chain_type", "map_reduce"]);
    expect(a.code).to.equal(2);
    expect(a.err).to.equal("langchain-sum: --chain_type map_reduce: want stuff or refine\n");
    const b = run("langchain-qa.ts", ["--nope", "1"]);
    expect(b.code).to.equal(2);
    expect(b.err).to.match(/^langchain-qa: unknown argument --nope/);
  });
});
