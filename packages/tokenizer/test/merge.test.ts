import { expect } from "chai";
import { createHash } from "node:crypto";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { PieceType, Tokenizer, encodeModelProto, mergeVocab, parseModelProto, readModelProto } from "@llamats/tokenizer";
import { syntheticModel } from "./synthetic.js";

describe("tokenizer: vocabulary expansion (mergeVocab)", () => {
  const base = syntheticModel({ pieces: [["▁", -1], ["a", -2], ["b", -3]] });
  const add = syntheticModel({ byteFallback: false, pieces: [["b", -0.5], ["中", -1], ["中文", -2], ["a", -3]], trainer: { modelType: 1 } });

  it("appends the pieces the base lacks, in file order, score 0, NORMAL; keeps the base specs", () => {
    const { model, added } = mergeVocab(base, add);
    expect(added).to.equal(2);
    const tail = model.pieces.slice(base.pieces.length);
    expect(tail.map((p) => [p.piece, p.score, p.type])).to.deep.equal([["中", 0, PieceType.NORMAL], ["中文", 0, PieceType.NORMAL]]);
    expect(model.trainerSpec).to.equal(base.trainerSpec);
    expect(model.normalizerSpec).to.equal(base.normalizerSpec);
    // the appended pieces score 0, above every base merge: 中文 is one token
    const tok = Tokenizer.fromModelProto(parseModelProto(encodeModelProto(model)));
    expect(tok.encodeAsPieces("中文a")).to.deep.equal(["▁", "中文", "a"]);
  });

  it("--add-pad appends [PAD] last, once", () => {
    const { model } = mergeVocab(base, add, { addPad: true });
    expect(model.pieces.at(-1)!.piece).to.equal("[PAD]");
    expect(model.pieces.length).to.equal(base.pieces.length + 3);
  });
});

describeConformance(
  "tokenizer conformance: vocab merge reproduces the published Chinese-LLaMA / Alpaca files",
  ["tokenizers/llama/tokenizer.model", "tokenizers/chinese_sp/chinese_sp.model"],
  () => {
    const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
    it("llama + chinese_sp -> 49953 pieces, sha256 e2676d4c…", () => {
      const { model, added } = mergeVocab(readModelProto(fixturePath("tokenizers/llama/tokenizer.model")), readModelProto(fixturePath("tokenizers/chinese_sp/chinese_sp.model")));
      expect(added).to.equal(17953);
      expect(model.pieces.length).to.equal(49953);
      expect(sha(encodeModelProto(model))).to.equal("e2676d4ca29ca1750f6ff203328d73b189321dc5776ceede037cbd36541d70c0");
    });
    it("with [PAD] -> 49954 pieces, sha256 2d967e85…", () => {
      const { model } = mergeVocab(readModelProto(fixturePath("tokenizers/llama/tokenizer.model")), readModelProto(fixturePath("tokenizers/chinese_sp/chinese_sp.model")), { addPad: true });
      expect(model.pieces.length).to.equal(49954);
      expect(sha(encodeModelProto(model))).to.equal("2d967e855b1213a439df6c8ce2791f869c84b4f3b6cfacf22b86440b8192a2f8");
    });
  },
);
