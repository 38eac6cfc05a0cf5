import { expect } from "chai";
import fc from "fast-check";
import { decodeUtf8Sp } from "@llamats/tokenizer";
import { syntheticTokenizer } from "./synthetic.js";

const byteId = (b: number): number => 3 + b;

describe("tokenizer: SentencePiece-style UTF-8 decoding", () => {
  it("gives one U+FFFD per malformed byte (unlike TextDecoder)", () => {
    expect(decodeUtf8Sp([0xe4, 0xb8])).to.equal("\ufffd\ufffd");
    expect(new TextDecoder().decode(new Uint8Array([0xe4, 0xb8]))).to.equal("\ufffd");
    expect(decodeUtf8Sp([0xf0, 0x9f, 0x98])).to.equal("\ufffd\ufffd\ufffd");
    expect(decodeUtf8Sp([0xc0, 0xaf])).to.equal("\ufffd\ufffd"); // overlong
    expect(decodeUtf8Sp([0xed, 0xa0, 0x80])).to.equal("\ufffd\ufffd\ufffd"); // surrogate
    expect(decodeUtf8Sp([0xf4, 0x90, 0x80, 0x80])).to.equal("\ufffd".repeat(4)); // > U+10FFFF
    expect(decodeUtf8Sp([0xe4, 0xb8, 0xad, 0xff, 0x41])).to.equal("中\ufffdA");
  });

  it("property: agrees with TextDecoder on valid UTF-8", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
        expect(decodeUtf8Sp(new TextEncoder().encode(s))).to.equal(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe("tokenizer: decode and StreamingDecoder", () => {
  const tok = syntheticTokenizer({ pieces: [["▁", -1], ["a", -2], ["▁a", -3], ["▁▁", -4], ["b▁", -5]] });
  const sp = tok.pieceToId("▁");
  const a = tok.pieceToId("a");
  const spa = tok.pieceToId("▁a");

  it("drops the first leading ▁ once, keeps later ones, control pieces vanish", () => {
    expect(tok.decode([spa, spa])).to.equal("a a");
    expect(tok.decode([1, spa, 2])).to.equal("a");
    expect(tok.decode([sp])).to.equal("");
    expect(tok.decode([sp, sp])).to.equal(" ");
    expect(tok.decode([0])).to.equal(" ⁇ ");
    expect(tok.decode([byteId(0x20), spa])).to.equal("  a");
    expect(tok.decode([a, spa])).to.equal("a a");
  });

  it("rejects ids outside the vocabulary with a typed error", () => {
    expect(() => tok.decode([tok.vocabSize])).to.throw(/outside the vocabulary/);
    expect(() => tok.decode([-1])).to.throw(/outside the vocabulary/);
  });

  it("streaming never emits half a character", () => {
    const d = tok.streamingDecoder();
    const bytes = [0xf0, 0x9f, 0x98, 0x80];
    const out = bytes.map((b) => d.push(byteId(b)));
    expect(out).to.deep.equal(["", "", "", "😀"]);
    expect(d.push(byteId(0xe4))).to.equal("");
    expect(d.push(a)).to.equal("\ufffda");
    expect(d.flush()).to.equal("");
  });

  it("property: streaming == batch for any id sequence and any split", () => {
    const ids = fc.oneof(
      fc.integer({ min: 0, max: tok.vocabSize - 1 }),
      fc.constantFrom(0xe4, 0xb8, 0xad, 0xf0, 0x9f, 0x98, 0x80, 0xc3, 0xa9, 0x41).map(byteId),
    );
    fc.assert(
      fc.property(fc.array(ids, { maxLength: 40 }), (seq) => {
        const batch = tok.decode(seq);
        const d = tok.streamingDecoder();
        let streamed = "";
        for (const id of seq) {
          const chunk = d.push(id);
          // every chunk is whole characters: no lone surrogates
          expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(chunk)).to.equal(false);
          streamed += chunk;
        }
        streamed += d.flush();
        expect(streamed).to.equal(batch);
      }),
      { numRuns: 400 },
    );
  });
});
