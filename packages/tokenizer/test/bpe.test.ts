import { expect } from "chai";
import fc from "fast-check";
import { PieceType } from "@llamats/tokenizer";
import { syntheticTokenizer } from "./synthetic.js";

// Normal pieces start at id 259 with byte fallback (3 specials + 256 bytes), 3 without.
const B = 259;

describe("tokenizer: BPE merges (synthetic vocabularies)", () => {
  const tok = syntheticTokenizer({
    pieces: [["▁", -5], ["a", -1], ["b", -2], ["c", -3], ["ab", -10], ["bc", -6], ["aa", -7]],
  });
  const id = (p: string): number => tok.pieceToId(p);

  it("merges the pair with the highest score first", () => {
    // "▁abc": ab (-10) and bc (-6) compete; bc wins, then nothing merges with it.
    expect(tok.encodeAsPieces("abc")).to.deep.equal(["▁", "a", "bc"]);
    expect(tok.encode("abc")).to.deep.equal([id("▁"), id("a"), id("bc")]);
    expect(id("▁")).to.equal(B);
  });

  it("breaks score ties leftmost first", () => {
    expect(tok.encodeAsPieces("aaa")).to.deep.equal(["▁", "aa", "a"]);
    expect(tok.encodeAsPieces("aaaa")).to.deep.equal(["▁", "aa", "aa"]);
  });

  it("falls back to <0xNN> byte pieces for characters not in the vocabulary", () => {
    // é = C3 A9
    expect(tok.encode("é")).to.deep.equal([id("▁"), 3 + 0xc3, 3 + 0xa9]);
    expect(tok.encodeAsPieces("aé")).to.deep.equal(["▁", "a", "<0xC3>", "<0xA9>"]);
  });

  it("adds BOS / EOS only when asked", () => {
    expect(tok.encode("a", { bos: true })).to.deep.equal([1, id("▁"), id("a")]);
    expect(tok.encode("a", { eos: true })).to.deep.equal([id("▁"), id("a"), 2]);
    expect(tok.encode("")).to.deep.equal([]);
    expect(tok.encode("", { bos: true, eos: true })).to.deep.equal([1, 2]);
  });

  it("does not recognise control-token text: <s> is plain characters", () => {
    const ids = tok.encode("<s>");
    expect(ids).to.not.include(1);
    expect(tok.decode(ids)).to.equal("<s>");
  });

  it("without byte fallback, a run of unknown characters is one <unk>", () => {
    const t = syntheticTokenizer({ byteFallback: false, pieces: [["▁", -1], ["a", -2]] });
    expect(t.encode("éé")).to.deep.equal([3, 0]);
    expect(t.encode("éaé")).to.deep.equal([3, 0, 4, 0]);
    expect(t.decode([3, 0, 4, 0])).to.equal(" ⁇ a ⁇ ");
  });

  it("matches user-defined pieces whole and never merges them", () => {
    const t = syntheticTokenizer({
      pieces: [["▁", -1], ["a", -2], ["b", -3], ["[PAD]", 0, PieceType.USER_DEFINED], ["a[", 5]],
    });
    const pad = t.pieceToId("[PAD]");
    expect(t.encode("a[PAD]b")).to.deep.equal([B, B + 1, pad, B + 2]);
    // outside a user-defined match, "[" (not itself a piece) still merges into "a["
    expect(t.encode("a[")).to.deep.equal([B, t.pieceToId("a[")]);
    expect(t.encode("[b")).to.deep.equal([B, 3 + 0x5b, B + 2]);
  });

  it("splits UNUSED pieces back into the pair that formed them", () => {
    const t = syntheticTokenizer({
      pieces: [["▁", -9], ["a", -1], ["b", -2], ["c", -3], ["ab", 0, PieceType.UNUSED], ["abc", -1]],
    });
    expect(t.encodeAsPieces("ab")).to.deep.equal(["▁", "a", "b"]);
    expect(t.encodeAsPieces("abc")).to.deep.equal(["▁", "abc"]);
  });

  it("encodes characters outside the BMP as single symbols", () => {
    const t = syntheticTokenizer({ pieces: [["▁", -1], ["😀", -2], ["▁😀", -3]] });
    expect(t.encodeAsPieces("😀😀")).to.deep.equal(["▁😀", "😀"]);
  });

  it("reads the normaliser flags from normalizer_spec", () => {
    const strip = syntheticTokenizer({
      pieces: [["▁", -1], ["a", -2], ["b", -3]],
      normalizer: { removeExtraWhitespaces: true },
    });
    expect(strip.encodeAsPieces("  a   b  ")).to.deep.equal(["▁", "a", "▁", "b"]);
    expect(strip.encode("   ")).to.deep.equal([]);
    const noPrefix = syntheticTokenizer({ pieces: [["▁", -1], ["a", -2]], normalizer: { addDummyPrefix: false } });
    expect(noPrefix.encodeAsPieces("a a")).to.deep.equal(["a", "▁", "a"]);
    expect(noPrefix.decode(noPrefix.encode(" a"))).to.equal(" a");
    const keep = syntheticTokenizer({ pieces: [["▁", -1], ["a", -2]] });
    expect(keep.encodeAsPieces(" a")).to.deep.equal(["▁", "▁", "a"]);
  });

  it("replaces lone surrogates by U+FFFD", () => {
    expect(tok.encode("\ud800")).to.deep.equal([id("▁"), 3 + 0xef, 3 + 0xbf, 3 + 0xbd]);
  });

  it("property: ids in range, decode(encode(s)) == s for strings without ▁", () => {
    const t = syntheticTokenizer({
      pieces: [["▁", -1], ["a", -2], ["b", -3], ["ab", -4], ["▁a", -5], ["ba", -6], ["▁▁", -7], ["中", -8], ["中a", -1]],
    });
    const alphabet = fc.constantFrom("a", "b", " ", "中", "é", "\n", "😀", "x");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }).map((a) => a.join("")), (s) => {
        const ids = t.encode(s);
        for (const i of ids) expect(i).to.be.within(0, t.vocabSize - 1);
        expect(t.decode(ids)).to.equal(s);
      }),
      { numRuns: 300 },
    );
  });
});
