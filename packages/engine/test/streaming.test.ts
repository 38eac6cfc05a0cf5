// Streaming decode through the generation loop with the real SentencePiece tokenizer (the
// embedded vocabulary): whatever ids the model produces, byte pieces included, every piece
// is whole UTF-8 text and the pieces concatenate to the batch decoding.
import { expect } from "chai";
import fc from "fast-check";
import { Tokenizer } from "@llamats/tokenizer";
import { embeddedVocab, vocabGgufMetadata, generateText, tokenizerCodec, type LogitsRunner } from "@llamats/engine";

const tok = Tokenizer.fromGguf(vocabGgufMetadata(embeddedVocab()));

/** A runner that forces a given continuation, then EOS. */
function scripted(ids: number[], vocab: number): LogitsRunner {
  let step = 0;
  return {
    vocabSize: vocab,
    nCtx: 4096,
    evalLast: () => {
      const l = new Float32Array(vocab).fill(-10);
      l[step < ids.length ? ids[step] : 2] = 10;
      step++;
      return l;
    },
  };
}

async function run(ids: number[]): Promise<string[]> {
  const pieces: string[] = [];
  const gen = generateText(tokenizerCodec(tok), scripted(ids, tok.vocabSize), { cached: [] }, "Hi", { temperature: 0, repeatPenalty: 1, maxTokens: 1000 }, () => {});
  for await (const p of gen) pieces.push(p);
  return pieces;
}

describe("streaming decode in generation", () => {
  it("emoji and CJK via byte fallback arrive as whole characters", async () => {
    const text = " 😀 hello 𠀀中国";
    const ids = tok.encode(text);
    expect(ids.some((id) => id >= 3 && id < 259)).to.equal(true); // byte pieces involved
    const pieces = await run(ids);
    for (const p of pieces) expect(p).to.not.contain("\uFFFD");
    expect(pieces.join("")).to.equal(" " + tok.decode(ids)); // a continuation keeps its leading ▁
    expect(tok.decode(ids)).to.equal(text);
  });

  it("property: pieces are well-formed and concatenate to decode(ids)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 20 }), async (s) => {
        const ids = tok.encode(" " + s);
        const pieces = await run(ids);
        for (const p of pieces) expect(Buffer.from(p, "utf8").toString("utf8")).to.equal(p); // no lone surrogate
        expect(pieces.join("")).to.equal(" " + tok.decode(ids));
      }),
      { numRuns: 60 },
    );
  });
});
