import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError } from "@llamats/tensor";
import { Tokenizer, ggufTokenizerMetadata, loadTokenizer, readGgufMetadata, vocabFromGgufMetadata } from "@llamats/tokenizer";
import { syntheticModel } from "./synthetic.js";

/** A minimal GGUF v3 writer for tokenizer metadata (no tensors). */
function ggufBytes(meta: Record<string, unknown>): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number): void => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(...b); };
  const u64 = (v: number): void => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(...b); };
  const str = (s: string): void => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(...b); };
  u32(0x46554747);
  u32(3);
  u64(0);
  u64(Object.keys(meta).length);
  for (const [k, v] of Object.entries(meta)) {
    str(k);
    if (typeof v === "string") { u32(8); str(v); }
    else if (typeof v === "boolean") { u32(7); parts.push(v ? 1 : 0); }
    else if (typeof v === "number") { u32(4); u32(v); }
    else if (v instanceof Float32Array) { u32(9); u32(6); u64(v.length); for (const x of v) { const b = Buffer.alloc(4); b.writeFloatLE(x); parts.push(...b); } }
    else if (v instanceof Int32Array) { u32(9); u32(5); u64(v.length); for (const x of v) { const b = Buffer.alloc(4); b.writeInt32LE(x); parts.push(...b); } }
    else if (Array.isArray(v)) { u32(9); u32(8); u64(v.length); for (const s of v) str(s as string); }
  }
  return Uint8Array.from(parts);
}

describe("tokenizer: GGUF metadata", () => {
  const model = syntheticModel({ pieces: [["▁", -1], ["a", -2], ["b", -3], ["▁a", -4], ["\ufeff", -5]] });
  const proto = Tokenizer.fromModelProto(model);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "llamats-tok-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

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

  it("reads a GGUF file's metadata (keeps U+FEFF) and loads a tokenizer from it", () => {
    const path = join(dir, "vocab.gguf");
    writeFileSync(path, ggufBytes({ "general.architecture": "llama", ...ggufTokenizerMetadata(model) }));
    const meta = readGgufMetadata(path);
    expect(meta["general.architecture"]).to.equal("llama");
    expect((meta["tokenizer.ggml.tokens"] as string[]).at(-1)).to.equal("\ufeff");
    expect(loadTokenizer(path).encode("ab a")).to.deep.equal(proto.encode("ab a"));
  });

  it("rejects truncated or lying GGUF headers with FormatError", () => {
    const bytes = ggufBytes(ggufTokenizerMetadata(model) as unknown as Record<string, unknown>);
    const path = join(dir, "bad.gguf");
    for (const n of [4, 8, 20, 30, 100, bytes.length - 1]) {
      writeFileSync(path, bytes.subarray(0, n));
      expect(() => readGgufMetadata(path), `truncated at ${n}`).to.throw(FormatError);
    }
    const lie = bytes.slice();
    new DataView(lie.buffer).setBigUint64(16, 1n << 40n, true); // n_kv
    writeFileSync(path, lie);
    expect(() => readGgufMetadata(path)).to.throw(FormatError, /n_kv/);
    const badVersion = bytes.slice();
    badVersion[4] = 9;
    writeFileSync(path, badVersion);
    expect(() => readGgufMetadata(path)).to.throw(FormatError, /version 9/);
  });
});
