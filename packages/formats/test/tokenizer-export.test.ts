// Converting out of GGUF rebuilds tokenizer.model from tokenizer.ggml.*: the rebuilt model
// must encode like SentencePiece itself (tokenizer-vectors, computed by SentencePiece 0.1.97).
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer, parseModelProto } from "@llamats/tokenizer";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { openModelSource, writeGgufFromSource, writeHfFromSource, writeMetaFromSource } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("tokexp");
after(() => tmp.cleanup());

describeConformance("tokenizer.model rebuilt from GGUF metadata", ["tiny/base/model.safetensors", "tiny/base/tokenizer.model", "tokenizer-vectors/llama.shared.jsonl"], () => {
  it("GGUF -> HF / pth writes a tokenizer.model that encodes 600 shared vectors like SentencePiece", async () => {
    const src = await openModelSource(fixturePath("tiny/base"));
    const gguf = tmp.path("base.gguf");
    writeGgufFromSource(src, gguf);
    src.close();
    const g = await openModelSource(gguf);
    expect(g.tokenizerPath).to.equal(undefined);
    const hf = tmp.path("hf");
    const pth = tmp.path("pth");
    writeHfFromSource(g, hf);
    writeMetaFromSource(g, pth);
    g.close();
    expect(existsSync(join(pth, "tokenizer.model"))).to.equal(true);
    const bytes = new Uint8Array(readFileSync(join(hf, "tokenizer.model")));
    const rebuilt = parseModelProto(bytes);
    const original = parseModelProto(new Uint8Array(readFileSync(fixturePath("tiny/base/tokenizer.model"))));
    expect(rebuilt.pieces.map((p) => [p.piece, p.score, p.type])).to.deep.equal(original.pieces.map((p) => [p.piece, p.score, p.type]));
    const tok = Tokenizer.fromBytes(bytes);
    const rows = readFileSync(fixturePath("tokenizer-vectors/llama.shared.jsonl"), "utf8").trim().split("\n").slice(0, 600).map((l) => JSON.parse(l) as { text: string; ids: number[] });
    for (const r of rows) expect(tok.encode(r.text), r.text).to.deep.equal(r.ids);
  });
});
