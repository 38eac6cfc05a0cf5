// Interop: the same merged model read from every layout the ecosystem writes — HF
// safetensors, Meta consolidated.*.pth (one shard and the 13B-style two-shard split), and a
// GGUF written by @llamats/formats — gives the PyTorch golden logits (prompt case) within 1e-5.
// This pins down the Q/K permutation and the name mapping end to end.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { configFromSource, openModelSource, writeGgufFromSource } from "@llamats/formats";
import { RunState, forward, loadWeights } from "@llamats/model";
import { ReferenceBackend } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { maxAbsDiff, readGoldenCase } from "./helpers/golden.js";

const SOURCES: [string, string, string][] = [
  ["merged-llama", "HF safetensors", "tiny/merged-llama/hf"],
  ["merged-llama", "Meta .pth", "tiny/merged-llama/pth"],
  ["merged-llama", "Meta .pth, 2 shards", "tiny/merged-llama/pth-2shards"],
  ["merged-alpaca-plus", "Meta .pth", "tiny/merged-alpaca-plus/pth"],
];

describeConformance("model/interop: every layout gives the golden logits", [...SOURCES.map((s) => s[2]), "tiny/golden/merged-llama.safetensors", "tiny/golden/merged-alpaca-plus.safetensors"], () => {
  const backend = new ReferenceBackend();
  let dir = "";
  before(() => { dir = mkdtempSync(join(tmpdir(), "llamats-model-interop-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function check(model: string, path: string): Promise<number> {
    const g = readGoldenCase(model, "prompt");
    const src = await openModelSource(path);
    try {
      const w = loadWeights(src, backend, configFromSource(src));
      const V = w.config.vocabSize;
      const all = forward(w, new RunState(backend, w.config), g.tokens, 0, { logits: "all" });
      let worst = 0;
      g.logitsPos.forEach((p, k) => { worst = Math.max(worst, maxAbsDiff(all.subarray(p * V, (p + 1) * V), g.logits.subarray(k * V, (k + 1) * V))); });
      return worst;
    } finally {
      src.close();
    }
  }

  for (const [model, label, rel] of SOURCES) {
    it(`${model} from ${label}`, async function () {
      const d = await check(model, fixturePath(rel));
      this.test!.title += ` (max |Δ| ${d.toExponential(2)})`;
      expect(d).to.be.at.most(1e-5);
    });
  }

  it("merged-llama through a GGUF written by formats (tensor bytes kept)", async function () {
    const src = await openModelSource(fixturePath("tiny/merged-llama/pth"));
    const out = join(dir, "merged-llama.gguf");
    try {
      writeGgufFromSource(src, out);
    } finally {
      src.close();
    }
    const d = await check("merged-llama", out);
    this.test!.title += ` (max |Δ| ${d.toExponential(2)})`;
    expect(d).to.be.at.most(1e-5);
  });
});
