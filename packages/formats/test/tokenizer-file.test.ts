// loadTokenizer(path): the one loader of a Tokenizer from a file — a SentencePiece
// tokenizer.model, a GGUF file's tokenizer.ggml.* metadata (read by formats' GGUF reader) or
// llama2.c's tokenizer.bin.

import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { FormatError, LlamatsError } from "@llamats/tensor";
import {
  DEFAULT_NORMALIZER_SPEC, DEFAULT_TRAINER_SPEC, ModelType, PieceType, Tokenizer, encodeLlama2cTokenizer, encodeModelProto, readModelProto,
  type ModelProto, type SentencePiece,
} from "@llamats/tokenizer";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { gguf, loadTokenizer, openGguf, tokenizerKv, writeGguf } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("tokfile");
after(() => tmp.cleanup());

/** <unk> <s> </s>, the 256 byte pieces, then a few normal pieces (U+FEFF last). */
function smallModel(): ModelProto {
  const pieces: SentencePiece[] = [
    { piece: "<unk>", score: 0, type: PieceType.UNKNOWN },
    { piece: "<s>", score: 0, type: PieceType.CONTROL },
    { piece: "</s>", score: 0, type: PieceType.CONTROL },
  ];
  for (let b = 0; b < 256; b++) pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, score: 0, type: PieceType.BYTE });
  for (const [piece, score] of [["▁", -1], ["a", -2], ["b", -3], ["▁a", -4], ["\ufeff", -5]] as const) pieces.push({ piece, score, type: PieceType.NORMAL });
  return {
    pieces,
    trainerSpec: { ...DEFAULT_TRAINER_SPEC, modelType: ModelType.BPE, vocabSize: pieces.length, byteFallback: true },
    normalizerSpec: { ...DEFAULT_NORMALIZER_SPEC, name: "identity", removeExtraWhitespaces: false },
  };
}

describe("formats/loadTokenizer", () => {
  const model = smallModel();
  const want = Tokenizer.fromModelProto(model);
  const ggufPath = tmp.path("vocab.gguf");
  before(() => writeGguf(ggufPath, { kv: [gguf.str("general.architecture", "llama"), ...tokenizerKv(model)], tensors: [] }));

  it("a GGUF file (recognised by its magic): the vocabulary of its metadata, U+FEFF kept", () => {
    const g = openGguf(ggufPath);
    try {
      expect((g.metadata["tokenizer.ggml.tokens"] as string[]).at(-1)).to.equal("\ufeff");
    } finally {
      g.close();
    }
    const tok = loadTokenizer(ggufPath);
    for (const s of ["ab a", " \ufeffa", "中"]) expect(tok.encode(s)).to.deep.equal(want.encode(s));
  });

  it("a tokenizer.model file, whatever its name", () => {
    const p = tmp.path("vocab.bin");
    writeFileSync(p, encodeModelProto(model));
    expect(readModelProto(p).pieces.length).to.equal(model.pieces.length);
    expect(loadTokenizer(p).encode("ab a")).to.deep.equal(want.encode("ab a"));
  });

  it("llama2.c's tokenizer.bin (recognised by parsing whole): the same encodings as the tokenizer.model it came from", () => {
    const p = tmp.path("tokenizer.bin");
    writeFileSync(p, encodeLlama2cTokenizer(model.pieces));
    const tok = loadTokenizer(p);
    expect(tok.vocabSize).to.equal(model.pieces.length);
    for (const text of ["ab a", " a\ufeffb", "é ☃"]) expect(tok.encode(text, { bos: true }), text).to.deep.equal(want.encode(text, { bos: true }));
  });

  it("truncated or lying GGUF headers are FormatErrors; a missing file is a LlamatsError", () => {
    const bytes = readFileSync(ggufPath);
    const bad = tmp.path("bad.gguf");
    for (const n of [4, 8, 20, 30, 100, bytes.length - 1]) {
      writeFileSync(bad, bytes.subarray(0, n));
      expect(() => loadTokenizer(bad), `truncated at ${n}`).to.throw(FormatError);
    }
    const lie = Uint8Array.from(bytes);
    new DataView(lie.buffer).setBigUint64(16, 1n << 40n, true); // n_kv
    writeFileSync(bad, lie);
    expect(() => loadTokenizer(bad)).to.throw(FormatError, /n_kv/);
    const badVersion = Uint8Array.from(bytes);
    badVersion[4] = 9;
    writeFileSync(bad, badVersion);
    expect(() => loadTokenizer(bad)).to.throw(FormatError, /version 9/);
    expect(() => loadTokenizer(tmp.path("absent.model"))).to.throw(LlamatsError, /absent\.model/);
  });
});

const LLAMA_MODEL = "tokenizers/llama/tokenizer.model";
const SPM_GGUF = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";
describeConformance("tokenizer conformance: llama.cpp test-tokenizer-0 (llama-spm)", [SPM_GGUF, `${SPM_GGUF}.inp`, `${SPM_GGUF}.out`, LLAMA_MODEL], () => {
  it("encodes llama.cpp's test strings to its expected ids, from the GGUF vocabulary", () => {
    const tok = loadTokenizer(fixturePath(SPM_GGUF));
    const inputs = readFileSync(fixturePath(`${SPM_GGUF}.inp`), "utf8").split("\n__ggml_vocab_test__\n");
    const outputs = readFileSync(fixturePath(`${SPM_GGUF}.out`), "utf8").split("\n");
    expect(inputs.length).to.be.greaterThan(40);
    for (let i = 0; i < inputs.length; i++) {
      const expected = outputs[i].trim() === "" ? [] : outputs[i].trim().split(/\s+/).map(Number);
      expect(tok.encode(inputs[i]), JSON.stringify(inputs[i])).to.deep.equal(expected);
    }
  });

  it("the GGUF vocabulary equals LLaMA's tokenizer.model", () => {
    const fromGguf = loadTokenizer(fixturePath(SPM_GGUF)).vocab;
    const fromModel = loadTokenizer(fixturePath(LLAMA_MODEL)).vocab;
    expect(fromGguf.pieces.length).to.equal(fromModel.pieces.length);
    const differing = fromGguf.pieces.filter((p, i) => p !== fromModel.pieces[i]);
    expect(differing).to.deep.equal([]); // note: piece 30143 is U+FEFF, which a BOM-stripping decoder loses
    expect(Array.from(fromGguf.scores)).to.deep.equal(Array.from(fromModel.scores));
    expect(Array.from(fromGguf.types)).to.deep.equal(Array.from(fromModel.types));
    expect([fromGguf.bosId, fromGguf.eosId, fromGguf.unkId]).to.deep.equal([1, 2, 0]);
  });
});
