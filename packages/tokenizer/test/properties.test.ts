// Properties of the real LLaMA / Chinese-LLaMA vocabularies (conformance-gated: they need
// the model files).

import { expect } from "chai";
import fc from "fast-check";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { Tokenizer, readModelProto } from "@llamats/tokenizer";

const FILES = ["tokenizers/llama/tokenizer.model", "tokenizers/chinese_llama/tokenizer.model"];

describeConformance("tokenizer properties on the real vocabularies", FILES, () => {
  const toks: Tokenizer[] = [];
  before(() => {
    for (const f of FILES) toks.push(Tokenizer.fromModelProto(readModelProto(fixturePath(f))));
  });

  // Mixed scripts, whitespace, emoji; no "▁" (it would decode to a space) and no lone
  // surrogates (they encode as U+FFFD).
  const textArb = fc
    .array(
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 8 }),
        fc.constantFrom("中文", "你好，世界", " ", "  ", "\n", "\t", "Hello", "1234", "😀", "𠀀", "<s>", "[PAD]", "é"),
      ),
      { maxLength: 8 },
    )
    .map((a) => a.join("").replaceAll("\u2581", "_"));

  it("decode(encode(s)) == s and every id is in range", () => {
    for (const tok of toks) {
      fc.assert(
        fc.property(textArb, (s) => {
          const ids = tok.encode(s);
          for (const id of ids) expect(id).to.be.within(0, tok.vocabSize - 1);
          expect(tok.decode(ids)).to.equal(s);
        }),
        { numRuns: 150 },
      );
    }
  });

  it("streaming decode == batch decode for any split of the ids", () => {
    for (const tok of toks) {
      fc.assert(
        fc.property(textArb, fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 10 }), (s, extra) => {
          const ids = [...tok.encode(s), ...extra];
          const d = tok.streamingDecoder();
          let out = "";
          for (const id of ids) out += d.push(id);
          expect(out + d.flush()).to.equal(tok.decode(ids));
        }),
        { numRuns: 100 },
      );
    }
  });
});
