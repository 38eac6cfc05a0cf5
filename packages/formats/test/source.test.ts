import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { FormatError, GGMLType } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { hfFromCanonical, openModelSource, permuteQkRows, qkKind, toFloat32, writeGgufFromSource } from "@llamats/formats";
import { makeTmpDir, thrown } from "./helpers/tmp.js";

const tmp = makeTmpDir("src");
after(() => tmp.cleanup());

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("openModelSource", () => {
  it("fails with a FormatError on missing paths and unknown files", async () => {
    let err: unknown;
    try {
      await openModelSource(tmp.path("nope"));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
    const p = tmp.path("junk.txt");
    (await import("node:fs")).writeFileSync(p, "hello world, not a model");
    try {
      await openModelSource(p);
      err = undefined;
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
    expect(String(err)).to.match(/not a GGUF/);
  });
});

describeConformance("ModelSource over tiny/base (HF)", ["tiny/base/model.safetensors", "tiny/base/config.json", "tiny/base/tensor-sha256.json"], () => {
  const want = () => JSON.parse(readFileSync(fixturePath("tiny/base/tensor-sha256.json"), "utf8")) as Record<string, { sha256: string }>;

  it("maps every HF tensor to a canonical name, permutes Q/K, and un-permuting gives the recorded bytes", async () => {
    const s = await openModelSource(fixturePath("tiny/base"));
    try {
      expect(s.format).to.equal("hf");
      expect(s.tokenizerPath).to.equal(fixturePath("tiny/base/tokenizer.model"));
      expect(s.config).to.deep.equal({
        vocabSize: 32000, contextLength: 2048, embeddingLength: 64, blockCount: 2, feedForwardLength: 172,
        headCount: 4, headCountKv: 4, layerNormRmsEpsilon: 1e-6, ropeDimensionCount: 16,
      });
      expect(s.tensors.map((t) => t.name).slice(0, 4)).to.deep.equal(["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight"]);
      expect(s.tensors).to.have.length(21);
      const w = want();
      for (const t of s.tensors) {
        expect(t.type).to.equal(GGMLType.F16);
        const bytes = s.read(t.name);
        expect(t.sourceName).to.equal(hfFromCanonical(t.name));
        const hf = qkKind(t.name) ? permuteQkRows(bytes, t.shape[0], 4, "interleavedToHf") : bytes;
        expect(sha(hf), t.name).to.equal(w[t.sourceName].sha256);
        if (qkKind(t.name)) expect(sha(bytes)).to.not.equal(w[t.sourceName].sha256);
      }
      // read into a caller's buffer
      const dst = new Uint8Array(10000);
      const q = s.read("blk.1.attn_q.weight", dst);
      expect(q.buffer).to.equal(dst.buffer);
      expect(sha(q)).to.equal(sha(s.read("blk.1.attn_q.weight")));
    } finally {
      s.close();
    }
  });

  it("the lone model.safetensors file gives the same tensors (config.json found beside it)", async () => {
    const a = await openModelSource(fixturePath("tiny/base"));
    const b = await openModelSource(fixturePath("tiny/base/model.safetensors"));
    try {
      expect(b.format).to.equal("safetensors");
      expect(b.config).to.deep.equal(a.config);
      expect(b.tensors.map((t) => t.name)).to.deep.equal(a.tensors.map((t) => t.name));
      for (const t of a.tensors) expect(sha(b.read(t.name))).to.equal(sha(a.read(t.name)));
    } finally {
      a.close();
      b.close();
    }
  });

  it("a GGUF written from it reads back the same canonical bytes and hyper-parameters", async () => {
    const a = await openModelSource(fixturePath("tiny/base"));
    const out = tmp.path("tiny.gguf");
    const res = writeGgufFromSource(a, out);
    expect(res.tensors).to.equal(21);
    const g = await openModelSource(out);
    try {
      expect(g.format).to.equal("gguf");
      expect(g.config).to.deep.include({ vocabSize: 32000, embeddingLength: 64, blockCount: 2, feedForwardLength: 172, headCount: 4, headCountKv: 4, contextLength: 2048, ropeDimensionCount: 16 });
      expect(g.config.layerNormRmsEpsilon).to.be.closeTo(1e-6, 1e-12);
      expect(g.metadata["general.architecture"]).to.equal("llama");
      expect(g.metadata["general.file_type"]).to.equal(1);
      expect((g.metadata["tokenizer.ggml.tokens"] as string[]).length).to.equal(32000);
      expect(g.tensors.map((t) => t.name)).to.deep.equal(a.tensors.map((t) => t.name));
      for (const t of a.tensors) {
        const gt = g.tensors.find((x) => x.name === t.name)!;
        if (t.shape.length === 2) {
          expect(gt.type).to.equal(GGMLType.F16);
          expect(sha(g.read(t.name)), t.name).to.equal(sha(a.read(t.name)));
        } else {
          // norms are widened to F32 (llama.cpp needs it), exactly
          expect(gt.type).to.equal(GGMLType.F32);
          expect(Array.from(toFloat32(g.read(t.name), gt.type, gt.shape))).to.deep.equal(Array.from(toFloat32(a.read(t.name), t.type, t.shape)));
        }
      }
    } finally {
      a.close();
      g.close();
    }
  });
});

describeConformance("ModelSource: corrupt HF folders", ["tiny/base/model.safetensors"], () => {
  it("rejects a config.json that is not JSON or has non-numeric fields", async () => {
    const fs = await import("node:fs");
    const dir = tmp.path("badhf");
    fs.mkdirSync(dir);
    fs.symlinkSync(fixturePath("tiny/base/model.safetensors"), `${dir}/model.safetensors`);
    fs.writeFileSync(`${dir}/config.json`, "{not json");
    let err: unknown = thrown(() => { throw new Error("x"); });
    try {
      await openModelSource(dir);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
    fs.writeFileSync(`${dir}/config.json`, JSON.stringify({ num_attention_heads: "four", hidden_size: 64 }));
    try {
      await openModelSource(dir);
      err = undefined;
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
    expect(String(err)).to.match(/num_attention_heads/);
    fs.writeFileSync(`${dir}/config.json`, JSON.stringify({ num_attention_heads: 3, hidden_size: 64 }));
    try {
      await openModelSource(dir);
      err = undefined;
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FormatError);
  });
});
