// The wllama column of the llamacpp suite: wllama 2.3.7 really runs under Node through the
// browser shim (one thread, a tiny synthetic GGUF, a few tokens; no timing asserted), and a
// file of 4 GiB or more is a reported field, not a crash.
import { expect } from "chai";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticModel } from "@llamats/engine";
import { configFromSource, openModelSource } from "@llamats/formats";
import { wllama } from "../src/llamacpp.bench.ts";

describe("benchmarks: wllama through the Node browser shim", function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-wllama-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a GGUF and decodes on one thread: pp and tg speeds, single-thread build", async () => {
    const path = join(dir, "tiny-q4_0.gguf");
    writeSyntheticModel(path, { shape: "tiny", type: "q4_0", seed: 1 });
    const src = await openModelSource(path);
    const vocab = configFromSource(src).vocabSize;
    src.close();
    const r = await wllama(path, statSync(path).size, 1, 8, 4, 1, vocab);
    expect(r.error, r.error).to.equal(undefined);
    expect(r.pp).to.be.a("number").and.to.be.above(0);
    expect(r.tg).to.be.a("number").and.to.be.above(0);
    expect(Number.isFinite(r.pp) && Number.isFinite(r.tg)).to.equal(true);
    expect(r.multiThread).to.equal(false);
  });

  it("a file of 4 GiB is reported as wllama.error (wasm32), without starting wllama", async () => {
    const path = join(dir, "big.gguf");
    const fd = openSync(path, "w");
    ftruncateSync(fd, 4 * 2 ** 30); // sparse: no disk used
    closeSync(fd);
    const r = await wllama(path, statSync(path).size, 2, 64, 16, 1, 32000);
    expect(r.pp).to.equal(undefined);
    expect(r.error).to.match(/cannot load: the file is 4\.00 GiB, wllama is wasm32/);
  });
});
