// The same model written by PyTorch in four layouts must read to identical canonical
// tensors: this pins the HF -> interleaved Q/K permutation to the Chinese-LLaMA merge
// script's own un-permute (merged-llama/pth holds Meta-layout Q/K it wrote).
import { expect } from "chai";
import { createHash } from "node:crypto";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { openModelSource } from "@llamats/formats";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describeConformance("cross-format: HF safetensors = Meta .pth = 2-shard .pth = HF .bin shards", [
  "tiny/merged-llama/hf/model.safetensors", "tiny/merged-llama/pth/consolidated.00.pth",
  "tiny/merged-llama/pth-2shards/consolidated.01.pth", "tiny/base/pytorch_model.bin.index.json", "tiny/base/model.safetensors",
], () => {
  it("merged-llama: hf, pth and pth-2shards give byte-identical canonical tensors", async () => {
    const [hf, pth, pth2] = await Promise.all(["hf", "pth", "pth-2shards"].map((d) => openModelSource(fixturePath(`tiny/merged-llama/${d}`))));
    try {
      expect([hf.format, pth.format, pth2.format]).to.deep.equal(["hf", "meta", "meta"]);
      expect(pth.tensors.map((t) => t.name)).to.deep.equal(hf.tensors.map((t) => t.name));
      expect(pth2.config).to.deep.equal(pth.config);
      expect(hf.config).to.deep.include(pth.config);
      for (const t of hf.tensors) {
        const h = sha(hf.read(t.name));
        expect(sha(pth.read(t.name)), t.name).to.equal(h);
        expect(sha(pth2.read(t.name)), t.name).to.equal(h);
      }
    } finally {
      [hf, pth, pth2].forEach((s) => s.close());
    }
  });

  it("base: the .bin shards (via their index) equal model.safetensors", async () => {
    const a = await openModelSource(fixturePath("tiny/base/pytorch_model.bin.index.json"));
    const b = await openModelSource(fixturePath("tiny/base/model.safetensors"));
    try {
      expect(a.tensors.map((t) => t.name)).to.deep.equal(b.tensors.map((t) => t.name));
      for (const t of a.tensors) expect(sha(a.read(t.name)), t.name).to.equal(sha(b.read(t.name)));
    } finally {
      a.close();
      b.close();
    }
  });

  it("PEFT adapters open as pass-through sources with their config", async () => {
    const s = await openModelSource(fixturePath("tiny/lora-llama"));
    try {
      expect(s.format).to.equal("peft");
      expect(s.metadata).to.have.property("r", 8);
      expect(s.tensors.some((t) => t.name === "base_model.model.lm_head.weight")).to.equal(true);
    } finally {
      s.close();
    }
  });
});

describeConformance("a lone Meta .pth without params.json", ["tiny/merged-llama/pth/consolidated.00.pth"], () => {
  it("opens with canonical names and shape-derived hyper-parameters", async () => {
    const { copyFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "llamats-lonepth-"));
    try {
      copyFileSync(fixturePath("tiny/merged-llama/pth/consolidated.00.pth"), join(dir, "consolidated.00.pth"));
      const s = await openModelSource(join(dir, "consolidated.00.pth"));
      try {
        expect(s.format).to.equal("meta");
        expect(s.config).to.deep.equal({ vocabSize: 49953, embeddingLength: 64, blockCount: 2, feedForwardLength: 172 });
        expect(s.tensors).to.have.length(21);
      } finally {
        s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
