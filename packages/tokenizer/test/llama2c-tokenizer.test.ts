// llama2.c's tokenizer.bin: a file written the way llama2.c's tokenizer.py export() writes it
// (encodeLlama2cTokenizer, from Meta's tokenizer.model) must encode and decode exactly as SentencePiece does on the
// shared vectors; corrupt files fail with the field and offset.

import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { Tokenizer, encodeLlama2cTokenizer, isLlama2cTokenizer, parseLlama2cTokenizer, readModelProto } from "@llamats/tokenizer";

describeConformance("tokenizer: llama2.c tokenizer.bin", ["tokenizers/llama/tokenizer.model", "tokenizer-vectors/llama.shared.jsonl"], function () {
  this.timeout(60000);
  let dir = "";
  let bin = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-tokbin-"));
    bin = join(dir, "tokenizer.bin");
    writeFileSync(bin, encodeLlama2cTokenizer(readModelProto(fixturePath("tokenizers/llama/tokenizer.model")).pieces));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("parses back and encodes the 2100 shared vectors as SentencePiece 0.1.97 does; a tokenizer.model is not taken for one", () => {
    const bytes = readFileSync(bin);
    expect(isLlama2cTokenizer(bytes)).to.equal(true);
    expect(isLlama2cTokenizer(readFileSync(fixturePath("tokenizers/llama/tokenizer.model")))).to.equal(false);
    const tok = new Tokenizer(parseLlama2cTokenizer(bytes, bin));
    expect(tok.vocabSize).to.equal(32000);
    expect([tok.unkId, tok.bosId, tok.eosId]).to.deep.equal([0, 1, 2]);
    const rows = readFileSync(fixturePath("tokenizer-vectors/llama.shared.jsonl"), "utf8").split("\n").filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { text: string; ids: number[]; decoded: string });
    expect(rows.length).to.equal(2100);
    for (const r of rows) {
      expect(tok.encode(r.text), r.text).to.deep.equal(r.ids);
      expect(tok.decode(r.ids), r.text).to.equal(r.decoded);
    }
  });

  it("corrupt files: a FormatError naming the token and byte offset", () => {
    const good = readFileSync(bin);
    const truncated = good.subarray(0, good.length - 3);
    expect(() => parseLlama2cTokenizer(truncated, "t.bin")).to.throw(FormatError, /t\.bin: token 31999 bytes at byte \d+: truncated/);
    const badLen = Uint8Array.from(good);
    new DataView(badLen.buffer).setInt32(4 + 4, 1 << 20, true); // token 0's length
    expect(() => parseLlama2cTokenizer(badLen, "t.bin")).to.throw(FormatError, /token 0 length at byte 8: 1048576 is outside/);
    expect(() => parseLlama2cTokenizer(new Uint8Array(2), "t.bin")).to.throw(FormatError, /max_token_length at byte 0/);
  });
});
