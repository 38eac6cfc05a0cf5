import { expect } from "chai";
import { Tokenizer, ggufTokenizerMetadata, vocabFromGgufMetadata } from "@llamats/tokenizer";
import { syntheticModel } from "./synthetic.js";

describe("tokenizer: GGUF metadata", () => {
  const model = syntheticModel({ pieces: [["▁", -1], ["a", -2], ["b", -3], ["▁a", -4], ["\ufeff", -5]] });
  const proto = Tokenizer.fromModelProto(model);

  it("exports tokens/scores/token_type/special ids and reads them back", () => {
    const meta = ggufTokenizerMetadata(model);
    expect(meta["tokenizer.ggml.model"]).to.equal("llama");
    expect(meta["tokenizer.ggml.tokens"].length).to.equal(model.pieces.length);
    expect(meta["tokenizer.ggml.token_type"][0]).to.equal(2);
    expect(meta["tokenizer.ggml.token_type"][3]).to.equal(6);
    expect([meta["tokenizer.ggml.bos_token_id"], meta["tokenizer.ggml.eos_token_id"], meta["tokenizer.ggml.unknown_token_id"]]).to.deep.equal([1, 2, 0]);
    expect(meta["tokenizer.ggml.padding_token_id"]).to.equal(undefined);
    expect(ggufTokenizerMetadata(model, { padId: 7 })["tokenizer.ggml.padding_token_id"]).to.equal(7);
    const back = Tokenizer.fromGguf(meta as unknown as Record<string, unknown>);
    for (const s of ["a ab b", " \ufeffa", "中"]) expect(back.encode(s)).to.deep.equal(proto.encode(s));
  });

  it("is lenient about plain arrays, bigints and {value} wrappers", () => {
    const meta = ggufTokenizerMetadata(model);
    const loose: Record<string, unknown> = {
      "tokenizer.ggml.model": { type: "string", value: "llama" },
      "tokenizer.ggml.tokens": meta["tokenizer.ggml.tokens"],
      "tokenizer.ggml.scores": Array.from(meta["tokenizer.ggml.scores"]),
      "tokenizer.ggml.token_type": Array.from(meta["tokenizer.ggml.token_type"], (t) => BigInt(t)),
      "tokenizer.ggml.bos_token_id": 1n,
    };
    const v = vocabFromGgufMetadata(loose);
    expect(v.bosId).to.equal(1);
    expect(new Tokenizer(v).encode("ab")).to.deep.equal(proto.encode("ab"));
    expect(() => vocabFromGgufMetadata({ "tokenizer.ggml.model": "gpt2" })).to.throw(/only "llama"/);
  });
});
