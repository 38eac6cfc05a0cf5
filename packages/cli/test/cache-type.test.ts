// --cache-type on every command that runs the model: accepted values in --help, the type
// reaching the engine (logits equal to loadModel with that cacheType), a bad value one line
// and exit 2.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, writeSyntheticModel } from "@llamats/engine";
import { runMain } from "./helpers/run-main.js";

const COMMANDS = ["generate", "chat", "logits", "ceval", "perplexity", "serve", "bench"];

describe("cli: --cache-type", function () {
  this.timeout(60000);
  let dir: string;
  let model: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-cli-cache-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 0 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const cmd of COMMANDS) {
    it(`${cmd} --help lists --cache-type f32 | f16 | q8_0`, async () => {
      const r = await runMain([cmd, "--help"]);
      expect(r.code).to.equal(0);
      expect(r.out.replace(/\s+/g, " ")).to.match(/--cache-type <type> KV cache storage: [^-]*choices: "f32", "f16", "q8_0"/);
    });
  }

  it("logits --cache-type q8_0 prints what loadModel({ cacheType: 'q8_0' }) computes, not the f32 cache's logits", async () => {
    const ids = [1, 5, 900, 17];
    const want = async (cacheType: string) => {
      const m = await loadModel(model, { backend: "ts", cacheType });
      try {
        return Buffer.from(m.forward(ids, { pos: 0, logits: "all" }).buffer);
      } finally {
        m.dispose();
      }
    };
    const out = join(dir, "q8.bin");
    const r = await runMain(["logits", "-m", model, "--ids", ids.join(","), "--out", out, "--backend", "ts", "--cache-type", "q8_0"]);
    expect(r.code, r.err).to.equal(0);
    const { readFileSync } = await import("node:fs");
    const got = readFileSync(out);
    expect(got.equals(await want("q8_0"))).to.equal(true);
    expect(got.equals(await want("f32"))).to.equal(false);
  });

  it("a bad --cache-type is one error line and exit 2", async () => {
    const r = await runMain(["generate", "-m", model, "-p", "hi", "-n", "1", "--cache-type", "q4_0"]);
    expect(r.code).to.equal(2);
    expect(r.out).to.equal("");
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(r.err).to.match(/^llamats: error: .*--cache-type.*q4_0/);
  });
});
