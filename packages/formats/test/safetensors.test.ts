import { expect } from "chai";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { FormatError } from "@llamats/tensor";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { SAFETENSORS_DTYPE_BYTES, openSafetensors, writeSafetensors, type SafetensorsDtype } from "@llamats/formats";
import { makeTmpDir, thrown } from "./helpers/tmp.js";

const tmp = makeTmpDir("st");
after(() => tmp.cleanup());

/** A hand-built safetensors file: header JSON as given, then `data`. */
function build(header: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

function expectBad(buf: Uint8Array, match: RegExp): void {
  const p = tmp.path("bad.safetensors");
  writeFileSync(p, buf);
  const err = thrown(() => openSafetensors(p).close());
  expect(err, String(err)).to.be.instanceOf(FormatError);
  expect(err.message).to.match(match);
}

describe("safetensors reader/writer", () => {
  it("reads a hand-built file with __metadata__ and lazy tensor reads", () => {
    const p = tmp.path("hand.safetensors");
    const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    writeFileSync(p, build('{"__metadata__":{"format":"pt"},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]},"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}   ', data));
    const f = openSafetensors(p);
    expect(f.metadata).to.deep.equal({ format: "pt" });
    expect(f.tensors.map((t) => t.name)).to.deep.equal(["a", "b"]);
    expect(Array.from(f.readTensor("b"))).to.deep.equal([9, 10, 11, 12]);
    expect(Array.from(f.readTensor("a", new Uint8Array(20)))).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    f.close();
  });

  it("write -> read round trip (property)", () => {
    const dtypes = Object.keys(SAFETENSORS_DTYPE_BYTES) as SafetensorsDtype[];
    const tensor = fc.record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), seed: fc.nat(255) });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s !== "__metadata__"), tensor), { selector: (e) => e[0], maxLength: 5 }),
        fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }), (ts, md) => {
          const tensors = ts.map(([name, t]) => {
            const n = t.shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype];
            return { name, dtype: t.dtype, shape: t.shape, data: new Uint8Array(n).map((_, i) => (i + t.seed) & 255) };
          });
          const p = tmp.path("prop.safetensors");
          writeSafetensors(p, tensors, md);
          const f = openSafetensors(p);
          try {
            expect({ ...f.metadata }).to.deep.equal(Object.keys(md).length ? { ...md } : {});
            expect(f.dataOffset % 8).to.equal(0);
            for (const t of tensors) {
              const info = f.tensor(t.name)!;
              expect(info.dtype).to.equal(t.dtype);
              expect(info.shape).to.deep.equal(t.shape);
              expect(Buffer.from(f.readTensor(t.name)).equals(Buffer.from(t.data))).to.equal(true);
            }
          } finally {
            f.close();
          }
        }),
      { numRuns: 40 },
    );
  });
});

describe("safetensors corruption suite", () => {
  const ok = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[4],"data_offsets":[8,12]}}';
  const data = new Uint8Array(12);
  it("accepts the baseline", () => {
    const p = tmp.path("ok.safetensors");
    writeFileSync(p, build(ok, data));
    openSafetensors(p).close();
  });
  it("rejects truncation at every byte", () => {
    const full = build(ok, data);
    for (let n = 0; n < full.length; n++) expectBad(full.subarray(0, n), /./);
  });
  it("rejects huge or lying header lengths", () => {
    const b = build(ok, data);
    b.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expectBad(b, /limit/);
    b.writeBigUInt64LE(100_000n, 0);
    expectBad(b, /past end of file/);
  });
  it("enforces the format rules", () => {
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', data.subarray(0, 8)), /duplicate key "a"/);
    expectBad(build('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', data.subarray(0, 8)), /needs 12/);
    expectBad(build('{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}}', data.subarray(0, 8)), /unknown dtype/);
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', data), /hole/);
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I8","shape":[4],"data_offsets":[4,8]}}', data.subarray(0, 8)), /overlaps/);
    expectBad(build(ok, new Uint8Array(13)), /trailing/);
    expectBad(build(ok, new Uint8Array(11)), /needs? 12|file has 11/);
    expectBad(build('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}', data.subarray(0, 8)), /shape/);
    expectBad(build('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', data.subarray(0, 8)), /overflow|needs|maxTensorElements/);
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"x":1}}', data.subarray(0, 8)), /strings/);
    expectBad(build('["a"]', data), /'\{'/);
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', data.subarray(0, 8)), /expected/);
    expectBad(build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', data.subarray(0, 8)), /unknown field/);
  });
  it("survives every single-byte flip with a FormatError or a valid parse", () => {
    const full = build(ok, data);
    const p = tmp.path("flip.safetensors");
    for (let i = 0; i < full.length - data.length; i++) {
      for (const mask of [0x01, 0x20, 0x80]) {
        const b = Buffer.from(full);
        b[i] ^= mask;
        writeFileSync(p, b);
        try {
          openSafetensors(p).close();
        } catch (err) {
          expect(err, `flip at ${i}: ${String(err)}`).to.be.instanceOf(FormatError);
        }
      }
    }
  });
});

describeConformance("safetensors conformance: tiny/base written by PyTorch", ["tiny/base/model.safetensors", "tiny/base/tensor-sha256.json"], () => {
  it("every tensor's bytes hash to tensor-sha256.json", () => {
    const want = JSON.parse(readFileSync(fixturePath("tiny/base/tensor-sha256.json"), "utf8")) as Record<string, { dtype: string; shape: number[]; sha256: string }>;
    const f = openSafetensors(fixturePath("tiny/base/model.safetensors"));
    try {
      expect(f.metadata).to.deep.equal({ format: "pt" });
      expect(f.tensors).to.have.length(21); // the json also lists the two rotary_emb.inv_freq buffers the .bin shards hold
      for (const t of f.tensors) {
        const w = want[t.name];
        expect(w, t.name).to.not.equal(undefined);
        expect(t.shape).to.deep.equal(w.shape);
        expect({ F16: "float16", F32: "float32" }[t.dtype as "F16"]).to.equal(w.dtype);
        expect(createHash("sha256").update(f.readTensor(t)).digest("hex"), t.name).to.equal(w.sha256);
      }
    } finally {
      f.close();
    }
  });
  it("re-writes it byte for byte", () => {
    const f = openSafetensors(fixturePath("tiny/base/model.safetensors"));
    const out = tmp.path("copy.safetensors");
    writeSafetensors(out, f.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => f.readTensor(t) })), f.metadata);
    f.close();
    const a = readFileSync(fixturePath("tiny/base/model.safetensors"));
    const b = readFileSync(out);
    // Same tensors and bytes; the header's key order may differ from Rust's, so compare data.
    const f2 = openSafetensors(out);
    expect(b.length).to.equal(a.length);
    expect(b.subarray(f2.dataOffset).equals(a.subarray(a.length - (b.length - f2.dataOffset)))).to.equal(true);
    f2.close();
  });
});

describeConformance("safetensors conformance: merged models and golden outputs", [
  "tiny/merged-llama/hf/model.safetensors", "tiny/merged-alpaca-plus/hf/model.safetensors", "tiny/merged-llama/tensor-sha256.json",
  "tiny/merged-alpaca-plus/tensor-sha256.json", "tiny/golden/base.safetensors", "tiny/MANIFEST.json",
], () => {
  for (const m of ["merged-llama", "merged-alpaca-plus"]) {
    it(`${m}/hf: every tensor hashes to tensor-sha256.json["hf"]`, () => {
      const want = (JSON.parse(readFileSync(fixturePath(`tiny/${m}/tensor-sha256.json`), "utf8")) as { hf: Record<string, { sha256: string; shape: number[] }> }).hf;
      const f = openSafetensors(fixturePath(`tiny/${m}/hf/model.safetensors`));
      try {
        const names = f.tensors.map((t) => t.name);
        expect(names.sort()).to.deep.equal(Object.keys(want).filter((k) => !k.endsWith("inv_freq")).sort());
        for (const t of f.tensors) {
          expect(t.shape).to.deep.equal(want[t.name].shape);
          expect(createHash("sha256").update(f.readTensor(t)).digest("hex"), t.name).to.equal(want[t.name].sha256);
        }
      } finally {
        f.close();
      }
    });
  }
  it("golden/*.safetensors (F32 / I32 outputs) open and read whole, matching MANIFEST sizes", () => {
    const manifest = JSON.parse(readFileSync(fixturePath("tiny/MANIFEST.json"), "utf8")) as Record<string, { bytes: number }>;
    for (const g of ["base", "merged-llama", "merged-alpaca-plus"]) {
      const f = openSafetensors(fixturePath(`tiny/golden/${g}.safetensors`));
      try {
        const dtypes = new Set(f.tensors.map((t) => t.dtype));
        expect([...dtypes].every((d) => d === "F32" || d === "I32" || d === "I64"), [...dtypes].join()).to.equal(true);
        const last = f.tensors[f.tensors.length - 1];
        expect(f.dataOffset + last.end).to.equal(manifest[`golden/${g}.safetensors`].bytes);
        expect(f.tensors.some((t) => t.name === "bos.tokens")).to.equal(true);
      } finally {
        f.close();
      }
    }
  });
});
