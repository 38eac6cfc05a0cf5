// `llamats bench` as a user runs it (spawned from sources) on a tiny synthetic model.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticModel } from "@llamats/engine";
import { openGguf } from "@llamats/formats";
import { benchJson } from "../src/commands/bench.js";

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));

function llamats(args: string[]) {
  const r = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", bin, ...args], { encoding: "utf8", timeout: 110000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("cli: bench", function () {
  this.timeout(120000);
  let dir = "";
  let model = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-bench-"));
    model = join(dir, "tiny-q4_0.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q4_0", seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("--json prints the llama-bench-like array, pp then tg per thread count, with llama-bench's fields (issue 15)", () => {
    const r = llamats(["bench", "-m", model, "-p", "8,16", "-n", "4", "--threads", "1,2", "-r", "2", "--json"]);
    expect(r.code, r.err).to.equal(0);
    const line = r.out.trim();
    expect(line.split("\n")).to.have.length(1);
    const rows = JSON.parse(line) as Record<string, number | string>[];
    expect(rows.map((x) => `${x.test}@${x.threads}`)).to.deep.equal(["pp8@1", "pp16@1", "tg4@1", "pp8@2", "pp16@2", "tg4@2"]);
    // llama-bench's model fields, checked against the file itself
    const g = openGguf(model);
    let params = 0, bytes = 0;
    for (const t of g.tensors) {
      params += t.shape.reduce((a: number, b: number) => a * b, 1);
      bytes += t.byteLength;
    }
    g.close();
    for (const x of rows) {
      expect(Object.keys(x)).to.deep.equal(["test", "threads", "tps", "stddev", "model_type", "model_size", "model_n_params", "n_prompt", "n_gen", "n_threads", "avg_ts", "stddev_ts"]);
      expect(x.tps).to.be.greaterThan(0);
      expect(x.stddev).to.be.at.least(0);
      expect(x.model_type).to.match(/^llama \d+M Q4_0$/);
      expect(x.model_n_params).to.equal(params);
      expect(x.model_size).to.equal(bytes);
      expect(x.n_threads).to.equal(x.threads);
      expect([x.n_prompt, x.n_gen]).to.deep.equal(String(x.test).startsWith("pp") ? [Number(String(x.test).slice(2)), 0] : [0, Number(String(x.test).slice(2))]);
      expect(Math.abs(Number(x.avg_ts) - Number(x.tps))).to.be.below(0.006);
      expect(Math.abs(Number(x.stddev_ts) - Number(x.stddev))).to.be.below(0.006);
    }
    expect(line).to.match(/^\[\{"test": "pp8", "threads": 1, "tps": [0-9.]+, "stddev": [0-9.]+, "model_type": /);
  });

  it("prints a table by default and exits 2 on a bad list", () => {
    const r = llamats(["bench", "-m", model, "-p", "8", "-n", "0", "--threads", "1", "-r", "1"]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/\| model .*\| test \|/);
    expect(r.out).to.include("pp8");
    const bad = llamats(["bench", "-m", model, "-p", "x", "--json"]);
    expect(bad.code).to.equal(2);
    expect(bad.out).to.equal("");
  });

  it("benchJson formats numbers with two decimals and the contract's spacing", () => {
    expect(benchJson([{ test: "pp64", threads: 2, tps: 12.3049, stddev: 0.2 }, { test: "tg32", threads: 2, tps: 3, stddev: 0 }])) // without model info: issue 8 form
      .to.equal('[{"test": "pp64", "threads": 2, "tps": 12.3, "stddev": 0.2}, {"test": "tg32", "threads": 2, "tps": 3, "stddev": 0}]');
  });
});
