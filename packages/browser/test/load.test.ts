// The browser path in Node: the bundle has no node: imports, loadModelFromBytes turns bad
// bytes into a FormatError naming the file, as the file readers do, and the span/range
// loaders (Blob, HTTP range requests, a server that ignores Range) give the same logits, on
// worker threads too (Node's worker_threads here; Web Workers in browser.test.ts).

import { expect } from "chai";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { FormatError } from "@llamats/tensor";
import { writeSyntheticModel, loadModel } from "@llamats/engine";
import { bundle } from "../src/build.js";
import { loadModelFromBlob, loadModelFromBytes, loadModelFromUrl } from "../src/index.js";
import { startBrowserDemo } from "./helpers/serve-demo.js";

describe("@llamats/browser in Node", function () {
  this.timeout(120_000);
  let dir: string;
  let bytes: Uint8Array<ArrayBuffer>;
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
    const a = await loadModelFromBlob(new Blob([bytes]), "tiny.gguf", { backend: "wasm", spanBytes: 16384, onProgress: (p) => seen.push(p.done / p.total) });
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

  it("reads a URL with HTTP range requests from `llamats serve --browser-demo --browser-models` (2 threads: same logits)", async () => {
    const server = await startBrowserDemo(dir);
    const url = `${new URL(server.pageUrl).origin}/models/${basename(path)}`;
    const ranges: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      ranges.push(new Headers(init?.headers).get("range") ?? "none");
      return realFetch(input, init);
    };
    let a;
    try {
      a = await loadModelFromUrl(url, { backend: "wasm", threads: 2, headerBytes: 8192, spanBytes: 65536 });
    } finally {
      globalThis.fetch = realFetch;
      await server.close();
    }
    const b = loadModelFromBytes(bytes, "tiny.gguf", { backend: "wasm" });
    try {
      expect(a.backend.name).to.equal("wasm-workers(2)");
      expect(ranges[0]).to.equal("bytes=0-8191");
      expect(ranges.length, "one request per span of tensors").to.be.greaterThan(10);
      expect(ranges.every((r) => /^bytes=\d+-\d+$/.test(r))).to.equal(true);
      const ids = [1, 20, 300, 4000 % a.config.vocabSize, 5];
      expect(Array.from(a.forward(ids, { logits: "all" }))).to.deep.equal(Array.from(b.forward(ids, { logits: "all" })));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("reads a URL whole when the server ignores Range; HTTP errors and bad 206s are errors naming the URL", async () => {
    let mode: "ignore" | "wrong" | "missing" = "ignore";
    const server: Server = createServer((req, res) => {
      if (mode === "missing") return res.writeHead(404).end();
      if (mode === "wrong") return res.writeHead(206, { "content-range": `bytes 0-9/${bytes.length}` }).end(Buffer.from(bytes.subarray(0, 10)));
      res.writeHead(200, { "content-length": bytes.length }).end(Buffer.from(bytes));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tiny.gguf`;
    try {
      const seen: number[] = [];
      const a = await loadModelFromUrl(url, { backend: "ts", onDownload: (p) => seen.push(p.done) });
      const b = loadModelFromBytes(bytes, "tiny.gguf", { backend: "ts" });
      try {
        expect(seen[seen.length - 1]).to.equal(bytes.length);
        expect(Array.from(a.forward([1, 2, 3]))).to.deep.equal(Array.from(b.forward([1, 2, 3])));
      } finally {
        a.dispose();
        b.dispose();
      }
      for (const [m, want] of [["missing", /tiny\.gguf: HTTP 404/], ["wrong", /tiny\.gguf: range 0-9 came with|tiny\.gguf.*bytes 0-9/]] as const) {
        mode = m;
        let err: unknown;
        try {
          (await loadModelFromUrl(url, { backend: "ts" })).dispose();
        } catch (e) {
          err = e;
        }
        expect(String((err as Error)?.message), m).to.match(want);
      }
    } finally {
      await new Promise((r) => server.close(r));
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
