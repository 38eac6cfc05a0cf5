import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { FormatError, GGMLType, ggmlTypeInfo } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { GgufValueType, gguf, loadModelProto, openGguf, tokenizerKv, writeGguf, type GgufKV, type GgufWriteTensor } from "@llamats/formats";
import { makeTmpDir, thrown } from "./helpers/tmp.js";

const tmp = makeTmpDir("gguf");
after(() => tmp.cleanup());

function sampleFile(): { kv: GgufKV[]; tensors: GgufWriteTensor[] } {
  const kv: GgufKV[] = [
    gguf.str("general.architecture", "llama"),
    { key: "u8", type: GgufValueType.UINT8, value: 255 },
    { key: "i8", type: GgufValueType.INT8, value: -128 },
    { key: "u16", type: GgufValueType.UINT16, value: 65535 },
    { key: "i16", type: GgufValueType.INT16, value: -32768 },
    gguf.u32("u32", 4294967295),
    gguf.i32("i32", -2147483648),
    gguf.f32("f32", 0.5),
    gguf.bool("bool", true),
    { key: "u64", type: GgufValueType.UINT64, value: 2n ** 64n - 1n },
    { key: "i64", type: GgufValueType.INT64, value: -5 },
    { key: "f64", type: GgufValueType.FLOAT64, value: Math.PI },
    gguf.str("utf8", "中文 ▁ 😀"),
    gguf.array("strs", GgufValueType.STRING, ["a", "", "▁b"]),
    { key: "nested", type: GgufValueType.ARRAY, value: { itemType: GgufValueType.ARRAY, items: [
      { itemType: GgufValueType.INT32, items: [1, 2, 3] }, { itemType: GgufValueType.INT32, items: [] },
    ] } },
  ];
  const f32 = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const q8 = new Uint8Array(2 * 34).map((_, i) => i);
  const q4k = new Uint8Array(144).map((_, i) => 255 - i);
  const tensors: GgufWriteTensor[] = [
    { name: "a", type: GGMLType.F32, shape: [2, 3], data: f32 },
    { name: "q", type: GGMLType.Q8_0, shape: [2, 32], data: () => q8 },
    { name: "k", type: GGMLType.Q4_K, shape: [256], data: q4k },
    { name: "scalar", type: GGMLType.F32, shape: [], data: new Uint8Array(4).fill(7) },
  ];
  return { kv, tensors };
}

describe("GGUF reader/writer", () => {
  it("round-trips every metadata type, nested arrays, and tensors (F32, Q8_0, Q4_K opaque)", () => {
    const { kv, tensors } = sampleFile();
    const p = tmp.path("sample.gguf");
    writeGguf(p, { kv, tensors });
    const g = openGguf(p);
    try {
      expect(g.version).to.equal(3);
      expect(g.kv).to.deep.equal(kv);
      expect(g.metadata.nested).to.deep.equal([[1, 2, 3], []]);
      expect(g.metadata.u64).to.equal(2n ** 64n - 1n);
      expect(g.tensors.map((t) => [t.name, t.type, t.shape, t.ne])).to.deep.equal([
        ["a", 0, [2, 3], [3, 2]], ["q", 8, [2, 32], [32, 2]], ["k", 12, [256], [256]], ["scalar", 0, [], []],
      ]);
      for (const t of g.tensors) expect(t.offset % 32).to.equal(0);
      expect(g.dataOffset % 32).to.equal(0);
      for (const t of tensors) {
        const want = typeof t.data === "function" ? t.data() : t.data;
        expect(Buffer.from(g.readTensor(t.name)).equals(Buffer.from(want))).to.equal(true);
      }
      // positioned read into a caller-provided (larger) buffer
      const dst = new Uint8Array(100);
      const got = g.readTensor("a", dst);
      expect(got.buffer).to.equal(dst.buffer);
      expect(Array.from(new Float32Array(got.slice().buffer))).to.deep.equal([1, 2, 3, 4, 5, 6]);
      // ... including shared memory: a SharedArrayBuffer and a shared WebAssembly.Memory
      const sab = new Uint8Array(new SharedArrayBuffer(64), 8, 24);
      expect(Array.from(new Float32Array(g.readTensor("a", sab).slice().buffer))).to.deep.equal([1, 2, 3, 4, 5, 6]);
      const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const view = new Uint8Array(mem.buffer, 1024, 68);
      g.readTensor("q", view);
      expect(view[67]).to.equal(67);
    } finally {
      g.close();
    }
  });

  it("honours general.alignment and writes version 2 on request", () => {
    const p = tmp.path("align.gguf");
    writeGguf(p, {
      version: 2,
      kv: [gguf.u32("general.alignment", 64)],
      tensors: [
        { name: "x", type: GGMLType.F16, shape: [3], data: new Uint8Array(6) },
        { name: "y", type: GGMLType.F16, shape: [5], data: new Uint8Array(10).fill(1) },
      ],
    });
    const g = openGguf(p);
    expect(g.version).to.equal(2);
    expect(g.alignment).to.equal(64);
    expect(g.dataOffset % 64).to.equal(0);
    expect(g.tensors.map((t) => t.offset)).to.deep.equal([0, 64]);
    expect(Array.from(g.readTensor("y"))).to.deep.equal(new Array(10).fill(1));
    g.close();
  });

  it("write -> read round trip on random metadata and tensors (property)", () => {
    const scalar = fc.oneof(
      fc.record({ type: fc.constant(GgufValueType.UINT32), value: fc.nat({ max: 0xffffffff }) }),
      fc.record({ type: fc.constant(GgufValueType.INT32), value: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
      fc.record({ type: fc.constant(GgufValueType.FLOAT32), value: fc.float({ noNaN: true }).map(Math.fround) }),
      fc.record({ type: fc.constant(GgufValueType.FLOAT64), value: fc.double({ noNaN: true }) }),
      fc.record({ type: fc.constant(GgufValueType.BOOL), value: fc.boolean() }),
      fc.record({ type: fc.constant(GgufValueType.STRING), value: fc.string({ unit: "grapheme", maxLength: 12 }) }),
      fc.record({ type: fc.constant(GgufValueType.INT64), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v)) }),
      fc.record({ type: fc.constant(GgufValueType.ARRAY), value: fc.array(fc.integer({ min: -128, max: 127 }), { maxLength: 8 }).map((items) => ({ itemType: GgufValueType.INT8, items })) }),
    );
    const types = [GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q4_0, GGMLType.Q5_1, GGMLType.Q6_K, GGMLType.I8];
    const tensor = fc.record({
      type: fc.constantFrom(...types),
      rows: fc.integer({ min: 1, max: 3 }),
      blocks: fc.integer({ min: 1, max: 2 }),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), scalar), { selector: (e) => e[0], maxLength: 6 }), fc.array(tensor, { maxLength: 4 }), (kvs, ts) => {
        const kv: GgufKV[] = kvs.map(([key, v]) => ({ key, type: v.type, value: v.value }) as GgufKV);
        const tensors: GgufWriteTensor[] = ts.map((t, i) => {
          const info = ggmlTypeInfo(t.type)!;
          const cols = info.blockSize * t.blocks;
          const n = t.rows * t.blocks * info.bytesPerBlock;
          return { name: `t${i}`, type: t.type, shape: [t.rows, cols], data: new Uint8Array(n).map((_, j) => (j * 31 + t.seed) & 255) };
        });
        const p = tmp.path("prop.gguf");
        writeGguf(p, { kv, tensors });
        const g = openGguf(p);
        try {
          expect(g.kv).to.deep.equal(kv);
          tensors.forEach((t, i) => {
            expect(g.tensors[i].shape).to.deep.equal(t.shape);
            expect(Buffer.from(g.readTensor(t.name)).equals(Buffer.from(t.data as Uint8Array))).to.equal(true);
          });
        } finally {
          g.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it("writes through a temp file and leaves nothing behind when a tensor fails", () => {
    const p = tmp.path("fail.gguf");
    const err = thrown(() => writeGguf(p, { kv: [], tensors: [{ name: "x", type: GGMLType.F32, shape: [4], data: () => new Uint8Array(3) }] }));
    expect(err.message).to.match(/need 16/);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith("fail.gguf"))).to.deep.equal([]);
  });
});

describeConformance("GGUF conformance: llama.cpp's vocabulary file", ["llamacpp-vocab/ggml-vocab-llama-spm.gguf"], () => {
  const path = fixturePath("llamacpp-vocab/ggml-vocab-llama-spm.gguf");
  it("reads header, metadata types and the 32000-piece vocabulary", () => {
    const g = openGguf(path);
    try {
      expect(g.version).to.equal(3);
      expect(g.tensors).to.have.length(0);
      expect(g.metadata["general.architecture"]).to.equal("llama");
      expect(g.metadata["tokenizer.ggml.model"]).to.equal("llama");
      const tokens = g.metadata["tokenizer.ggml.tokens"] as string[];
      expect(tokens).to.have.length(32000);
      expect(tokens.slice(0, 4)).to.deep.equal(["<unk>", "<s>", "</s>", "<0x00>"]);
      const scores = g.metadata["tokenizer.ggml.scores"] as number[];
      expect(scores[300]).to.equal(-(300 - 259));
      const types = g.kv.find((e) => e.key === "tokenizer.ggml.token_type")!;
      expect(types.type).to.equal(GgufValueType.ARRAY);
      expect((types.value as { itemType: number }).itemType).to.equal(GgufValueType.INT32);
      expect(g.kv.find((e) => e.key === "llama.block_count")!.type).to.equal(GgufValueType.UINT32);
      expect(g.metadata["tokenizer.ggml.bos_token_id"]).to.equal(1);
    } finally {
      g.close();
    }
  });

  it("re-writes it byte for byte", () => {
    const g = openGguf(path);
    const out = tmp.path("vocab-copy.gguf");
    writeGguf(out, { kv: g.kv, tensors: [], version: g.version as 3 });
    g.close();
    const a = readFileSync(path);
    const b = readFileSync(out);
    expect(b.equals(a)).to.equal(true);
  });
});

describeConformance("GGUF conformance: our tokenizer.ggml.* equals llama.cpp's", ["llamacpp-vocab/ggml-vocab-llama-spm.gguf", "tokenizers/llama/tokenizer.model"], () => {
  it("tokens, scores, token types and special ids match the vocabulary GGUF llama.cpp wrote", () => {
    const ours = new Map(tokenizerKv(loadModelProto(fixturePath("tokenizers/llama/tokenizer.model"))).map((e) => [e.key, e]));
    const g = openGguf(fixturePath("llamacpp-vocab/ggml-vocab-llama-spm.gguf"));
    try {
      for (const key of ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"]) {
        const theirs = g.kv.find((e) => e.key === key)!;
        expect(ours.get(key), key).to.deep.equal(theirs);
      }
    } finally {
      g.close();
    }
  });
});

describe("GGUF corruption suite", () => {
  const good = tmp.path("good.gguf");
  let bytes: Buffer;
  before(() => {
    const { kv, tensors } = sampleFile();
    writeGguf(good, { kv, tensors });
    bytes = readFileSync(good);
  });

  function expectFormatError(buf: Uint8Array, match?: RegExp): FormatError {
    const p = tmp.path("bad.gguf");
    writeFileSync(p, buf);
    const err = thrown(() => openGguf(p).close());
    expect(err, String(err)).to.be.instanceOf(FormatError);
    if (match) expect(err.message).to.match(match);
    expect((err as FormatError).file).to.equal(p);
    return err as FormatError;
  }

  it("rejects truncation at every byte of the header and inside the data", () => {
    const g = openGguf(good);
    const headerEnd = g.dataOffset;
    const last = g.tensors[g.tensors.length - 1];
    const dataEnd = g.dataOffset + last.offset + last.byteLength;
    g.close();
    for (let n = 0; n < headerEnd; n++) {
      try {
        expectFormatError(bytes.subarray(0, n));
      } catch (e) {
        throw new Error(`truncated to ${n} bytes: ${String(e)}`);
      }
    }
    expectFormatError(bytes.subarray(0, dataEnd - 1), /past end of file/);
  });

  it("survives every single-byte flip of the header with a FormatError or a valid parse", () => {
    const g = openGguf(good);
    const headerEnd = g.dataOffset;
    g.close();
    const p = tmp.path("flip.gguf");
    for (let i = 0; i < headerEnd; i++) {
      for (const mask of [0x01, 0xff]) {
        const b = Buffer.from(bytes);
        b[i] ^= mask;
        writeFileSync(p, b);
        try {
          openGguf(p).close();
        } catch (err) {
          expect(err, `flip ${mask} at ${i}: ${String(err)}`).to.be.instanceOf(FormatError);
        }
      }
    }
  });

  const u64At = (off: number, v: bigint) => {
    const b = Buffer.from(bytes);
    b.writeBigUInt64LE(v, off);
    return b;
  };
  it("rejects counts of 2^64-1 and huge string lengths before allocating", () => {
    expectFormatError(u64At(8, 2n ** 64n - 1n), /n_tensors/);
    expectFormatError(u64At(16, 2n ** 64n - 1n), /n_kv/);
    expectFormatError(u64At(16, 1000000n), /n_kv/);
    expectFormatError(u64At(24, 2n ** 64n - 1n), /kv\[0\]\.key/);
    expectFormatError(u64At(24, 10n ** 9n), /past end of file|maxStringBytes/);
  });

  function kvOffset(key: string): number {
    const i = bytes.indexOf(Buffer.from(key));
    return i + key.length; // start of its u32 type
  }
  it("rejects unknown value types, bad bools, huge array counts", () => {
    const b = Buffer.from(bytes);
    b.writeUInt32LE(99, kvOffset("u32"));
    expectFormatError(b, /unknown value type 99/);
    const c = Buffer.from(bytes);
    c[kvOffset("bool") + 4] = 2;
    expectFormatError(c, /bool/);
    const d = Buffer.from(bytes);
    d.writeBigUInt64LE(2n ** 64n - 1n, kvOffset("strs") + 8);
    expectFormatError(d, /strs count/);
  });

  it("rejects bad versions, magic, duplicate keys and names, unknown ggml types, misaligned and overlapping offsets", () => {
    const v = Buffer.from(bytes);
    v.writeUInt32LE(1, 4);
    expectFormatError(v, /v1/);
    const m = Buffer.from(bytes);
    m[0] = 0x78;
    expectFormatError(m, /magic/);
    const dupKey = Buffer.from(bytes);
    dupKey.write("u8", bytes.indexOf(Buffer.from("i8")) , "latin1");
    expectFormatError(dupKey, /duplicate key "u8"/);

    const p = tmp.path("t.gguf");
    const t = (name: string) => ({ name, type: GGMLType.F32, shape: [8], data: new Uint8Array(32) });
    writeGguf(p, { kv: [], tensors: [t("aa"), t("ab")] });
    const base = readFileSync(p);
    const dupName = Buffer.from(base);
    dupName.write("aa", base.indexOf(Buffer.from("ab")), "latin1");
    expectFormatError(dupName, /duplicate tensor name/);
    // second tensor info: name "ab" then u32 n_dims, u64 ne[0], u32 type, u64 offset
    const abAt = base.indexOf(Buffer.from("ab")) + 2;
    const badType = Buffer.from(base);
    badType.writeUInt32LE(77, abAt + 12);
    expectFormatError(badType, /unknown ggml type 77/);
    const misaligned = Buffer.from(base);
    misaligned.writeBigUInt64LE(8n, abAt + 16);
    expectFormatError(misaligned, /alignment/);
    const overlap = Buffer.from(base);
    overlap.writeBigUInt64LE(0n, abAt + 16);
    expectFormatError(overlap, /overlaps/);
    const past = Buffer.from(base);
    past.writeBigUInt64LE(1024n, abAt + 16);
    expectFormatError(past, /past end of file/);
    const dims = Buffer.from(base);
    dims.writeUInt32LE(5, abAt);
    expectFormatError(dims, /dimensions/);
    const hugeNe = Buffer.from(base);
    hugeNe.writeBigUInt64LE(2n ** 64n - 1n, abAt + 4);
    expectFormatError(hugeNe, /too large/);
    const notBlock = Buffer.from(base);
    notBlock.writeUInt32LE(GGMLType.Q4_0, abAt + 12);
    expectFormatError(notBlock, /block size/);
  });

  it("rejects a bad general.alignment", () => {
    const p = tmp.path("a.gguf");
    writeGguf(p, { kv: [gguf.u32("general.alignment", 32)], tensors: [] });
    const b = readFileSync(p);
    const valueAt = b.indexOf(Buffer.from("general.alignment")) + "general.alignment".length + 4;
    for (const bad of [0, 48]) {
      b.writeUInt32LE(bad, valueAt);
      expectFormatError(b, /alignment/);
    }
  });
});
