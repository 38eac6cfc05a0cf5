import { expect } from "chai";
import { FormatError } from "@llamats/tensor";
import { ModelType, Tokenizer } from "@llamats/tokenizer";
import { PrecompiledCharsmap } from "../src/charsmap.js";
import { syntheticModel } from "./synthetic.js";

describe("tokenizer: unigram (Viterbi)", () => {
  const tok = Tokenizer.fromModelProto(
    syntheticModel({
      byteFallback: false,
      trainer: { modelType: ModelType.UNIGRAM },
      pieces: [["▁", -1], ["a", -2], ["b", -2], ["ab", -3], ["▁ab", -4.5], ["abc", -9], ["c", -3]],
    }),
  );
  const pieces = (s: string): string[] => tok.encode(s).map((i) => (i === 0 ? "<unk>" : tok.idToPiece(i)));

  it("picks the segmentation with the highest total score", () => {
    expect(pieces("ab")).to.deep.equal(["▁", "ab"]); // -1 - 3 = -4 beats ▁ab (-4.5) and ▁ a b (-5)
    expect(pieces("abc")).to.deep.equal(["▁", "ab", "c"]); // -7 beats ▁ abc (-10), ▁ a b c (-8)
  });

  it("scores unknown characters minScore - 10 and merges a run of them into one <unk>", () => {
    expect(pieces("aé")).to.deep.equal(["▁", "a", "<unk>"]);
    expect(pieces("aéé")).to.deep.equal(["▁", "a", "<unk>"]);
    expect(tok.decode(tok.encode("aé"))).to.equal("a ⁇ ");
  });

  it("rejects a character map blob that lies about its trie size", () => {
    expect(() => new PrecompiledCharsmap(new Uint8Array([0xff, 0, 0, 0, 1, 2, 3]))).to.throw(FormatError, /trie size 255/);
    expect(() => new PrecompiledCharsmap(new Uint8Array([1]))).to.throw(FormatError);
  });
});
