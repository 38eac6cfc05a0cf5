// Meta consolidated.*.pth: shards re-joined along each tensor's axis must equal the
// single-file weights; the writer cuts them the same way (uneven output split included).

import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeConformance, fixturePath, mulberry32 } from "@llamats/testkit";
import {
  formatMetaParams, metaPartSizes, metaShardSplit, openMetaCheckpoint, openTorchCheckpoint, pythonFloat,
  splitMetaTensor, writeMetaCheckpoint, type TorchTensorInput,
} from "@llamats/formats";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("meta: shard rules", () => {
  it("splits each tensor along FairScale's axis", () => {
    expect(metaShardSplit("tok_embeddings.weight")).to.equal(1);
    expect(metaShardSplit("output.weight")).to.equal(0);
    expect(metaShardSplit("norm.weight")).to.equal("replicated");
    expect(metaShardSplit("layers.3.attention_norm.weight")).to.equal("replicated");
    for (const w of ["attention.wq", "attention.wk", "attention.wv", "feed_forward.w1", "feed_forward.w3"]) {
      expect(metaShardSplit(`layers.0.${w}.weight`), w).to.equal(0);
    }
    expect(metaShardSplit("layers.0.attention.wo.weight")).to.equal(1);
    expect(metaShardSplit("layers.0.feed_forward.w2.weight")).to.equal(1);
    expect(metaShardSplit("layers.0.something.weight")).to.equal(undefined);
  });

  it("cuts output's 49953 rows [24976, 24977] and refuses uneven cuts elsewhere", () => {
    expect(metaPartSizes("output.weight", 49953, 2)).to.deep.equal([24976, 24977]);
    expect(metaPartSizes("output.weight", 49954, 4)).to.deep.equal([12488, 12488, 12488, 12490]);
    expect(() => metaPartSizes("tok_embeddings.weight", 65, 2)).to.throw(/equal shards/);
  });

  it("writes params.json the way Python's json.dump does", () => {
    expect(pythonFloat(1e-6)).to.equal("1e-06");
    expect(pythonFloat(1e-5)).to.equal("1e-05");
    expect(pythonFloat(0.0001)).to.equal("0.0001");
    expect(formatMetaParams({ dim: 64, multiple_of: 4, n_heads: 4, n_layers: 2, norm_eps: 1e-6, vocab_size: -1 }))
      .to.equal('{"dim": 64, "multiple_of": 4, "n_heads": 4, "n_layers": 2, "norm_eps": 1e-06, "vocab_size": -1}');
  });

  it("split then join is the identity for random shapes and shard counts", () => {
    const root = mkdtempSync(join(tmpdir(), "llamats-meta-"));
    try {
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer(),
        (nShards, k, extraRows, seed) => {
          const rand = mulberry32(seed);
          const dir = mkdtempSync(join(root, "m-"));
          const dim = 4 * nShards * k;
          const vocab = nShards * 3 + extraRows; // uneven: the remainder goes to the last part
          const mk = (name: string, shape: number[]): TorchTensorInput & { data: Uint8Array } => {
            const data = new Uint8Array(shape.reduce((a, b) => a * b, 2));
            for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
            return { name, dtype: "f16", shape, data };
          };
          const tensors = [
            mk("tok_embeddings.weight", [vocab, dim]), mk("layers.0.attention.wq.weight", [dim, dim]),
            mk("layers.0.attention.wo.weight", [dim, dim]), mk("layers.0.feed_forward.w2.weight", [dim, 2 * dim]),
            mk("layers.0.attention_norm.weight", [dim]), mk("norm.weight", [dim]), mk("output.weight", [vocab, dim]),
          ];
          writeMetaCheckpoint(dir, { dim, n_heads: 1, n_layers: 1, norm_eps: 1e-6, vocab_size: -1 }, tensors, { nShards });
          const m = openMetaCheckpoint(dir);
          try {
            expect(m.nShards).to.equal(nShards);
            for (const t of tensors) {
              expect(m.get(t.name)!.shape).to.deep.equal(t.shape);
              expect(Buffer.from(m.read(t.name)).equals(Buffer.from(t.data)), t.name).to.equal(true);
            }
          } finally {
            m.close();
            rmSync(dir, { recursive: true, force: true });
          }
        }), { numRuns: 12 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("splitMetaTensor cuts dim 1 into row bands", () => {
    // (2, 4) int8 tensor 0..7 -> two (2, 2) parts: [0 1 4 5], [2 3 6 7]
    const { shapes, parts } = splitMetaTensor("layers.0.attention.wo.weight", "i8", [2, 4], Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2);
    expect(shapes).to.deep.equal([[2, 2], [2, 2]]);
    expect([...parts[0]]).to.deep.equal([0, 1, 4, 5]);
    expect([...parts[1]]).to.deep.equal([2, 3, 6, 7]);
  });
});

describeConformance("meta: PyTorch-written consolidated.*.pth", [
  "tiny/merged-llama/pth-2shards/params.json", "tiny/merged-llama/pth/consolidated.00.pth",
  "tiny/merged-llama/tensor-sha256.json", "tiny/merged-alpaca-plus/pth/params.json",
], () => {
  it("re-joins the 2 model-parallel shards to the single-file merged weights", () => {
    const want = JSON.parse(readFileSync(fixturePath("tiny/merged-llama/tensor-sha256.json"), "utf8")).pth;
    const m = openMetaCheckpoint(fixturePath("tiny/merged-llama/pth-2shards"));
    const single = openTorchCheckpoint(fixturePath("tiny/merged-llama/pth/consolidated.00.pth"));
    try {
      expect(m.nShards).to.equal(2);
      expect(m.params).to.deep.include({ dim: 64, n_heads: 4, n_layers: 2 });
      expect(m.tensors.map((t) => t.name).sort()).to.deep.equal(Object.keys(want).sort());
      expect(m.get("output.weight")!.shape).to.deep.equal([49953, 64]);
      for (const t of m.tensors) {
        expect(t.shape, t.name).to.deep.equal(want[t.name].shape);
        expect(sha256(m.read(t.name)), t.name).to.equal(want[t.name].sha256);
        expect(Buffer.from(m.read(t.name)).equals(Buffer.from(single.read(t.name))), t.name).to.equal(true);
      }
    } finally {
      m.close();
      single.close();
    }
  });

  it("reads a single-shard folder, and writing it as 2 shards reproduces PyTorch's 2-shard files", () => {
    const m = openMetaCheckpoint(fixturePath("tiny/merged-llama/pth"));
    const dir = mkdtempSync(join(tmpdir(), "llamats-meta-"));
    try {
      expect(m.nShards).to.equal(1);
      const tensors = m.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => m.read(t.name) }));
      writeMetaCheckpoint(dir, m.params, tensors, { nShards: 2 });
      for (const f of ["consolidated.00.pth", "consolidated.01.pth", "params.json"]) {
        expect(sha256(readFileSync(join(dir, f))), f).to.equal(sha256(readFileSync(fixturePath(`tiny/merged-llama/pth-2shards/${f}`))));
      }
    } finally {
      m.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
