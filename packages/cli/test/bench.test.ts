// `llamats bench` as a user runs it (spawned from sources) on a tiny synthetic model.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticModel } from "@llamats/engine";
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

  it("--json prints exactly the llama-bench-like array, pp then tg per thread count", () => {
    const r = llamats(["bench", "-m", model, "-p", "8,16", "-n", "4", "--threads", "1,2", "-r", "2", "--json"]);
    expect(r.code, r.err).to.equal(0);
    const line = r.out.trim();
    expect(line.split("\n")).to.have.length(1);
    const rows = JSON.parse(line) as { test: string; threads: number; tps: number; stddev: number }[];
    expect(rows.map((x) => `${x.test}@${x.threads}`)).to.deep.equal(["pp8@1", "pp16@1", "tg4@1", "pp8@2", "pp16@2", "tg4@2"]);
    for (const x of rows) {
      expect(Object.keys(x)).to.deep.equal(["test", "threads", "tps", "stddev"]);
      expect(x.tps).to.be.greaterThan(0);
      expect(x.stddev).to.be.at.least(0);
    }
    expect(line).to.match(/^\[\{"test": "pp8", "threads": 1, "tps": [0-9.]+, "stddev": [0-9.]+\}, \{"test": "pp16"/);
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
    expect(benchJson([{ test: "pp64", threads: 2, tps: 12.3049, stddev: 0.2 }, { test: "tg32", threads: 2, tps: 3, stddev: 0 }]))
      .to.equal('[{"test": "pp64", "threads": 2, "tps": 12.3, "stddev": 0.2}, {"test": "tg32", "threads": 2, "tps": 3, "stddev": 0}]');
  });
});
