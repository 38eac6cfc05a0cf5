import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GGMLType, ggmlRowBytes } from "@llamats/tensor";
import { openGguf } from "@llamats/formats";
import { Tokenizer } from "@llamats/tokenizer";
import {
  SYNTH_SHAPES, embeddedVocab, embeddedVocabSize, synthTensorSpecs, writeSyntheticModel, PieceType,
} from "@llamats/engine";
import { cleanupTestDir, testDir } from "./helpers.js";

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("synthetic models", () => {
  after(cleanupTestDir);

  it("same seed -> same bytes; another seed -> other bytes (f16 and q8_0)", () => {
    for (const type of ["f16", "q8_0"]) {
      const a = join(testDir(), `a-${type}.gguf`);
      const b = join(testDir(), `b-${type}.gguf`);
      const c = join(testDir(), `c-${type}.gguf`);
      writeSyntheticModel(a, { shape: "tiny", type, seed: 3 });
      writeSyntheticModel(b, { shape: "tiny", type, seed: 3 });
      writeSyntheticModel(c, { shape: "tiny", type, seed: 4 });
      expect(sha(a)).to.equal(sha(b));
      expect(sha(a)).to.not.equal(sha(c));
    }
  });

  it("writes a real LLaMA GGUF: llama.* keys, canonical tensors, types, tokenizer", () => {
    const p = join(testDir(), "tiny-q4.gguf");
    writeSyntheticModel(p, { shape: "tiny", type: "q4_0", seed: 1 });
    const f = openGguf(p);
    try {
      const s = SYNTH_SHAPES.tiny;
      expect(f.metadata["general.architecture"]).to.equal("llama");
      expect(f.metadata["llama.embedding_length"]).to.equal(256);
      expect(f.metadata["llama.block_count"]).to.equal(4);
      expect(f.metadata["llama.attention.head_count"]).to.equal(8);
      expect(f.metadata["llama.attention.head_count_kv"]).to.equal(4);
      expect(f.metadata["llama.feed_forward_length"]).to.equal(768);
      expect(f.metadata["general.file_type"]).to.equal(2);
      expect(f.tensors.length).to.equal(2 + 9 * s.blockCount + 1);
      const q = f.tensor("blk.0.attn_k.weight")!;
      expect(q.shape).to.deep.equal([128, 256]);
      expect(q.type).to.equal(GGMLType.Q4_0);
      expect(q.byteLength).to.equal(128 * ggmlRowBytes(GGMLType.Q4_0, 256));
      expect(f.tensor("blk.0.attn_norm.weight")!.type).to.equal(GGMLType.F32);
      const norm = new Float32Array(f.readTensor("output_norm.weight").slice().buffer);
      expect(Array.from(norm.slice(0, 4))).to.deep.equal([1, 1, 1, 1]);
      const tok = Tokenizer.fromGguf(f.metadata);
      expect(tok.vocabSize).to.equal(s.vocabSize);
      for (const text of ["Hello world", "为什么要减少污染，保护环境？", "emoji 😀 and ñ"]) {
        expect(tok.decode(tok.encode(text))).to.equal(text);
      }
    } finally {
      f.close();
    }
  });

  it("embedded vocabulary: LLaMA layout, unique pieces, padding to 32000 / 49953", () => {
    const v = embeddedVocab();
    expect(v.pieces.length).to.equal(embeddedVocabSize());
    expect(v.pieces.slice(0, 3).map((p) => p.piece)).to.deep.equal(["<unk>", "<s>", "</s>"]);
    expect(v.pieces[3]).to.deep.equal({ piece: "<0x00>", score: 0, type: PieceType.BYTE });
    expect(v.pieces[258].piece).to.equal("<0xFF>");
    expect(v.pieces[259].score).to.equal(0);
    expect(v.pieces[260].score).to.equal(-1);
    for (const n of [32000, 49953]) {
      const p = embeddedVocab(n).pieces;
      expect(p.length).to.equal(n);
      expect(new Set(p.map((x) => x.piece)).size).to.equal(n);
    }
    expect(() => embeddedVocab(10)).to.throw(RangeError);
  });

  it("1b and 7b shapes have the published sizes", () => {
    const params = (name: "1b" | "7b") => synthTensorSpecs(SYNTH_SHAPES[name]).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    // 32 x (4 x 4096² + 3 x 4096 x 11008 + 2 x 4096) + 2 x 49953 x 4096 + 4096 (LLaMA-7B: 6,738,415,616 at vocab 32000)
    expect(params("7b")).to.equal(6_885_486_592);
    expect(params("1b")).to.equal(1_100_048_384); // TinyLlama-1.1B
  });

  it("rejects unknown shapes and types with a LlamatsError", () => {
    expect(() => writeSyntheticModel(join(testDir(), "x.gguf"), { shape: "13b" })).to.throw(/unknown synthetic shape/);
    expect(() => writeSyntheticModel(join(testDir(), "x.gguf"), { shape: "tiny", type: "q9_9" })).to.throw(/unsupported synthetic weight type/);
  });
});
