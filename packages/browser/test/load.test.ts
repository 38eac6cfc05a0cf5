// The browser path in Node: the bundle has no node: imports, and loadModelFromBytes turns
// bad bytes into a FormatError naming the file, as the file readers do.

import { expect } from "chai";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "@llamats/tensor";
import { writeSyntheticModel, loadModel } from "@llamats/engine";
import { bundle } from "../src/build.js";
import { loadModelFromBlob, loadModelFromBytes } from "../src/index.js";

describe("@llamats/browser in Node", function () {
  this.timeout(120_000);
  let dir: string;
  let bytes: Uint8Array;
  let path: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-browser-unit-"));
    path = join(dir, "tiny.gguf");
    writeSyntheticModel(path, { shape: "tiny", type: "q8_0", seed: 3 });
    bytes = readFileSync(path);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("bundles the library for browsers without any node: import", async () => {
    const js = new TextDecoder().decode(await bundle(join(import.meta.dirname, "..", "src", "index.ts")));
    expect(js).to.not.match(/from\s*"node:|import\("node:/);
    expect(js).to.not.match(/\bprocess\.env\b/);
    expect(js.length).to.be.greaterThan(10_000);
  });

  it("loads a GGUF from bytes with its tokenizer and matches loadModel's logits", async () => {
    const m = loadModelFromBytes(bytes, "tiny.gguf", { backend: "ts" });
    const n = await loadModel(path, { backend: "ts" });
    try {
      const ids = m.tokenize("为什么要减少污染", { bos: true });
      expect(ids).to.deep.equal(n.tokenize("为什么要减少污染", { bos: true }));
      expect(Array.from(m.forward(ids))).to.deep.equal(Array.from(n.forward(ids)));
    } finally {
      m.dispose();
      n.dispose();
    }
  });

  it("loads a Blob tensor by tensor into the wasm backend with the same logits as from bytes", async () => {
    const seen: number[] = [];
    const a = await loadModelFromBlob(new Blob([bytes]), "tiny.gguf", { backend: "wasm", onProgress: (p) => seen.push(p.done / p.total) });
    const b = loadModelFromBytes(bytes, "tiny.gguf", { backend: "wasm" });
    try {
      const ids = [1, 20, 300, 4000 % a.config.vocabSize, 5];
      expect(Array.from(a.forward(ids, { logits: "all" }))).to.deep.equal(Array.from(b.forward(ids, { logits: "all" })));
      expect(seen.length).to.be.greaterThan(10);
      expect(seen[seen.length - 1]).to.equal(1);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("turns a truncated Blob into a FormatError naming the file", async () => {
    let err: unknown;
    try {
      (await loadModelFromBlob(new Blob([bytes.subarray(0, bytes.length - 1000)]), "picked.gguf", { backend: "ts" })).dispose();
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
    expect((err as Error).message).to.contain("picked.gguf");
  });

  it("turns truncated or foreign bytes into a FormatError naming the file", () => {
    for (const bad of [bytes.subarray(0, 100), bytes.subarray(0, bytes.length - 1000), new TextEncoder().encode("not a gguf file at all")]) {
      let err: unknown;
      try {
        loadModelFromBytes(bad, "picked.gguf", { backend: "ts" }).dispose();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(FormatError);
      expect((err as Error).message).to.contain("picked.gguf");
    }
  });
});
