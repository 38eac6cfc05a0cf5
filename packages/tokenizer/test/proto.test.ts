import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { FormatError } from "@llamats/tensor";
import { describeConformance, fixturePath, mulberry32 } from "@llamats/testkit";
import { PieceType, encodeModelProto, parseModelProto } from "@llamats/tokenizer";
import { syntheticModel } from "./synthetic.js";

function small(): Uint8Array {
  return encodeModelProto(
    syntheticModel({ byteFallback: false, pieces: [["▁", -1], ["中文", -2.5], ["[PAD]", 0, PieceType.USER_DEFINED]] }),
  );
}

/** Parsing either succeeds or throws FormatError: never anything else. */
function parseOrFormatError(bytes: Uint8Array): "ok" | "format-error" {
  try {
    parseModelProto(bytes, "corrupt.model");
    return "ok";
  } catch (e) {
    if (e instanceof FormatError) return "format-error";
    throw e;
  }
}

describe("tokenizer: ModelProto codec", () => {
  it("round-trips a model built in code, including pad_id -1 (a 10-byte varint)", () => {
    const model = syntheticModel({ pieces: [["▁", -1], ["a", -2.5], ["[PAD]", 0, PieceType.USER_DEFINED]] });
    const bytes = encodeModelProto(model);
    const back = parseModelProto(bytes);
    expect(back.pieces.length).to.equal(model.pieces.length);
    expect(back.pieces.map((p) => [p.piece, p.score, p.type])).to.deep.equal(model.pieces.map((p) => [p.piece, p.score, p.type]));
    expect(back.trainerSpec.padId).to.equal(-1);
    expect(back.trainerSpec.byteFallback).to.equal(true);
    expect(back.trainerSpec.modelType).to.equal(2);
    expect(back.normalizerSpec.name).to.equal("identity");
    expect(back.normalizerSpec.removeExtraWhitespaces).to.equal(false);
    expect(encodeModelProto(back)).to.deep.equal(bytes);
  });

  it("encodes a piece to the exact protobuf bytes", () => {
    // piece "a" score -2 type omitted (NORMAL): 0A 08 | 0A 01 61 | 15 00 00 00 C0; then CONTROL: 18 03
    const bytes = encodeModelProto({
      ...syntheticModel({ byteFallback: false, pieces: [] }),
      pieces: [{ piece: "a", score: -2, type: 1 }, { piece: "<s>", score: 0, type: PieceType.CONTROL }],
    });
    expect(Array.from(bytes.subarray(0, 10))).to.deep.equal([0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0x00, 0x00, 0x00, 0xc0]);
    expect(Array.from(bytes.subarray(10, 24))).to.deep.equal([0x0a, 0x0c, 0x0a, 0x03, 0x3c, 0x73, 0x3e, 0x15, 0, 0, 0, 0, 0x18, 0x03]);
  });

  it("keeps unknown fields so re-encoding is byte-identical", () => {
    const base = small();
    // append an unknown top-level field 99 (varint 7) and an unknown piece field
    const withTop = new Uint8Array([...base, 0x98, 0x06, 0x07]);
    expect(encodeModelProto(parseModelProto(withTop))).to.deep.equal(withTop);
    const piece = [0x0a, 0x01, 0x62, 0x15, 0, 0, 0x80, 0xbf, 0x20, 0x05]; // "b", -1, field 4 = 5
    const withPiece = new Uint8Array([0x0a, piece.length, ...piece, ...base]);
    const parsed = parseModelProto(withPiece);
    expect(parsed.pieces[0].piece).to.equal("b");
    expect(encodeModelProto(parsed)).to.deep.equal(withPiece);
  });

  it("rejects every truncation with a FormatError or parses a valid prefix", () => {
    const bytes = small();
    for (let n = 0; n < bytes.length; n++) parseOrFormatError(bytes.subarray(0, n));
    expect(parseOrFormatError(bytes.subarray(0, bytes.length - 1))).to.equal("format-error");
  });

  it("reports field and offset for a length that lies", () => {
    const bytes = small().slice();
    bytes[1] = 0x7f; // first piece claims 127 bytes: its string field now overruns it
    expect(() => parseModelProto(bytes, "lie.model")).to.throw(FormatError, /^lie\.model: ModelProto\.pieces\[0\]\.\S+ at byte \d+: /);
    bytes[1] = 0xff;
    bytes[2] = 0x7f; // 16383 bytes: past the end of the file
    expect(() => parseModelProto(bytes, "lie.model")).to.throw(FormatError, /ModelProto\.#1 at byte 1: length 16383 runs past the end/);
    expect(() => parseModelProto(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), "big.model")).to.throw(FormatError, /runs past the end/);
    expect(() => parseModelProto(new Uint8Array([]), "empty.model")).to.throw(FormatError, /no pieces/);
    expect(() => parseModelProto(new TextEncoder().encode("GGUF not a model"), "x.model")).to.throw(FormatError);
  });

  it("property: random byte flips give a model or a FormatError, never a crash", () => {
    const bytes = small();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const b = bytes.slice();
        for (const [i, v] of flips) b[i] = v;
        parseOrFormatError(b);
      }),
      { numRuns: 300 },
    );
    const rand = mulberry32(7);
    for (let i = 0; i < 200; i++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      parseOrFormatError(junk);
    }
  });
});

const FILES = [
  "tokenizers/llama/tokenizer.model",
  "tokenizers/chinese_llama/tokenizer.model",
  "tokenizers/chinese_alpaca/tokenizer.model",
  "tokenizers/chinese_sp/chinese_sp.model",
];
describeConformance("tokenizer conformance: real tokenizer.model files round-trip byte for byte", FILES, () => {
  for (const rel of FILES) {
    it(rel, () => {
      const bytes = new Uint8Array(readFileSync(fixturePath(rel)));
      expect(Buffer.compare(Buffer.from(encodeModelProto(parseModelProto(bytes, rel))), Buffer.from(bytes))).to.equal(0);
    });
  }
});
