// Conformance: every tensor of the PyTorch-written fixtures reads to the sha256 recorded in
// their tensor-sha256.json, and writing those tensors back gives torch 1.13's exact bytes.

import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { openTorchCheckpoint, torchDTypeName, writeTorchCheckpoint } from "@llamats/formats";

interface TensorSha { dtype: string; shape: number[]; sha256: string }
type ShaTable = Record<string, TensorSha>;

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const json = (rel: string): unknown => JSON.parse(readFileSync(fixturePath(rel), "utf8"));

function expectAllTensors(path: string, want: ShaTable, optionalExtra = false): void {
  const ck = openTorchCheckpoint(path, { verifyCrc: true });
  try {
    const names = ck.tensors.map((t) => t.name);
    if (!optionalExtra) expect([...names].sort()).to.deep.equal(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const info = ck.get(name);
      expect(info, name).to.not.equal(undefined);
      expect(info!.shape, name).to.deep.equal(w.shape);
      expect(torchDTypeName(info!.dtype), name).to.equal(w.dtype);
      expect(sha256(ck.read(name)), name).to.equal(w.sha256);
    }
  } finally {
    ck.close();
  }
}

const files = [
  "tiny/base/pytorch_model.bin.index.json", "tiny/base/tensor-sha256.json",
  "tiny/lora-llama/adapter_model.bin", "tiny/lora-llama/tensor-sha256.json",
  "tiny/lora-alpaca/adapter_model.bin", "tiny/lora-alpaca/tensor-sha256.json",
  "tiny/merged-alpaca-plus/pth/consolidated.00.pth", "tiny/merged-alpaca-plus/tensor-sha256.json",
  "tiny/merged-llama/pth/consolidated.00.pth", "tiny/merged-llama/tensor-sha256.json",
  "tiny/merged-llama/pth-2shards/consolidated.01.pth",
];

describeConformance("torch checkpoints: PyTorch fixtures", files, () => {
  it("reads the 2-shard HF base (split mid-layer, with rotary_emb.inv_freq) to its hashes", () => {
    const want = json("tiny/base/tensor-sha256.json") as ShaTable;
    expectAllTensors(fixturePath("tiny/base/pytorch_model.bin.index.json"), want);
    // The folder opens the same way, through its index.
    const ck = openTorchCheckpoint(fixturePath("tiny/base"));
    expect(ck.tensors.length).to.equal(Object.keys(want).length);
    expect(ck.get("model.layers.0.self_attn.rotary_emb.inv_freq")!.dtype).to.equal("f32");
    expect(ck.get("model.layers.1.self_attn.q_proj.weight")!.file).to.match(/00001-of-00002\.bin$/);
    expect(ck.get("model.layers.1.mlp.up_proj.weight")!.file).to.match(/00002-of-00002\.bin$/);
    ck.close();
  });

  for (const name of ["lora-llama", "lora-alpaca"]) {
    it(`reads ${name}/adapter_model.bin to its hashes`, () => {
      expectAllTensors(fixturePath(`tiny/${name}/adapter_model.bin`), json(`tiny/${name}/tensor-sha256.json`) as ShaTable);
    });
  }

  for (const name of ["merged-llama", "merged-alpaca-plus"]) {
    it(`reads ${name}/pth/consolidated.00.pth to its hashes`, () => {
      const want = (json(`tiny/${name}/tensor-sha256.json`) as Record<string, ShaTable>).pth;
      expectAllTensors(fixturePath(`tiny/${name}/pth/consolidated.00.pth`), want);
    });
  }

  it("reads each shard of merged-llama/pth-2shards to its hashes", () => {
    const want = (json("tiny/merged-llama/tensor-sha256.json") as Record<string, Record<string, ShaTable>>)["pth-2shards"];
    for (const shard of ["consolidated.00.pth", "consolidated.01.pth"]) {
      expectAllTensors(fixturePath(`tiny/merged-llama/pth-2shards/${shard}`), want[shard]);
    }
  });

  it("writes back files byte-identical to torch.save's (zip layout, padding, pickle memo)", () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-torch-"));
    try {
      for (const rel of [
        "tiny/base/pytorch_model-00001-of-00002.bin", "tiny/base/pytorch_model-00002-of-00002.bin",
        "tiny/lora-alpaca/adapter_model.bin", "tiny/merged-llama/pth-2shards/consolidated.01.pth",
      ]) {
        const src = fixturePath(rel);
        const ck = openTorchCheckpoint(src);
        const out = join(dir, rel.split("/").pop()!);
        writeTorchCheckpoint(out, ck.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => ck.read(t.name) })));
        ck.close();
        expect(sha256(readFileSync(out)), rel).to.equal(sha256(readFileSync(src)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
