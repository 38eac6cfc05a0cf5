// writeTorchCheckpoint -> openTorchCheckpoint over random tensors, strided views of shared
// storages, HF shard folders, and the zip layer on its own.

import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ZipReader, crc32, openTorchCheckpoint, pickleStateDict, torchElementBytes, writeTorchCheckpoint,
  type TorchDType,
} from "@llamats/formats";
import { checkpointBytes, withTempDir, writeBytes, zipBytes } from "./helpers.js";

const DTYPES: TorchDType[] = ["f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool"];

describe("torch checkpoint: write -> read round trip", () => {
  it("reads back random tensors byte for byte, in order, with progress", () => {
    withTempDir((dir) => {
      fc.assert(fc.property(
        fc.uniqueArray(fc.record({
          name: fc.string({ minLength: 1, maxLength: 12 }),
          dtype: fc.constantFrom(...DTYPES),
          shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
          seed: fc.integer({ min: 0, max: 255 }),
        }), { selector: (t) => t.name, maxLength: 14 }),
        (specs) => {
          const tensors = specs.map((s) => {
            const n = s.shape.reduce((a, c) => a * c, 1) * torchElementBytes(s.dtype);
            return { name: s.name, dtype: s.dtype, shape: s.shape, data: Uint8Array.from({ length: n }, (_, i) => (i * 31 + s.seed) & 0xff) };
          });
          const path = join(dir, "model.bin");
          let last = 0;
          writeTorchCheckpoint(path, tensors.map((t, i) => (i % 2 ? t : { ...t, data: () => t.data })), {
            onProgress: (p) => { expect(p.done).to.be.at.least(last); last = p.done; },
          });
          const ck = openTorchCheckpoint(path, { verifyCrc: true });
          try {
            expect(ck.tensors.map((t) => t.name)).to.deep.equal(tensors.map((t) => t.name));
            for (const t of tensors) {
              const info = ck.get(t.name)!;
              expect(info.dtype).to.equal(t.dtype);
              expect(info.shape).to.deep.equal(t.shape);
              expect(info.byteLength).to.equal(t.data.length);
              expect(Buffer.from(ck.read(t.name)).equals(Buffer.from(t.data))).to.equal(true);
              const dst = new Uint8Array(t.data.length + 3);
              expect(Buffer.from(ck.read(t.name, dst)).equals(Buffer.from(t.data))).to.equal(true);
            }
          } finally {
            ck.close();
          }
        }), { numRuns: 40 });
    });
  });

  it("names the archive folder after the file, puts data on 64-byte boundaries, leaves no temp file", () => {
    withTempDir((dir) => {
      const path = join(dir, "consolidated.03.pth");
      writeTorchCheckpoint(path, [{ name: "a", dtype: "f32", shape: [3], data: new Uint8Array(12).fill(7) }]);
      const zip = ZipReader.open(path);
      expect(zip.entries.map((e) => e.name)).to.deep.equal(["consolidated.03/data.pkl", "consolidated.03/data/0", "consolidated.03/version"]);
      for (const e of zip.entries) expect(e.dataOffset % 64).to.equal(0);
      expect(new TextDecoder().decode(zip.read(zip.get("consolidated.03/version")!))).to.equal("3\n");
      zip.close();
      expect(() => writeTorchCheckpoint(join(dir, "x.bin"), [{ name: "a", dtype: "f32", shape: [3], data: new Uint8Array(5) }])).to.throw(/needs 12/);
      expect(readFileSync(path).length).to.be.greaterThan(0);
      expect(() => readFileSync(join(dir, "x.bin"))).to.throw();
      expect(() => readFileSync(join(dir, `x.bin.tmp-${process.pid}`))).to.throw();
    });
  });

  it("reads strided views that share one storage (transpose, offset slice, expand)", () => {
    withTempDir((dir) => {
      // storage "0": 12 float32 0..11, seen as base (3, 4), its transpose (4, 3), row 1 (4,),
      // column 2 (3,) and a stride-0 broadcast (2, 4) of row 2.
      const storage = new Uint8Array(new Float32Array(Array.from({ length: 12 }, (_, i) => i)).buffer);
      const s = { dtype: "f32" as const, storageKey: "0", storageNumel: 12 };
      const pkl = pickleStateDict([
        { name: "base", shape: [3, 4], strides: [4, 1], storageOffset: 0, ...s },
        { name: "t", shape: [4, 3], strides: [1, 4], storageOffset: 0, ...s },
        { name: "row1", shape: [4], strides: [1], storageOffset: 4, ...s },
        { name: "col2", shape: [3], strides: [4], storageOffset: 2, ...s },
        { name: "bcast", shape: [2, 4], strides: [0, 1], storageOffset: 8, ...s },
        { name: "scalar", shape: [], strides: [], storageOffset: 5, ...s },
      ]);
      const path = writeBytes(dir, "views.bin", checkpointBytes(pkl, { "0": storage }));
      const ck = openTorchCheckpoint(path);
      const f32 = (name: string): number[] => [...new Float32Array(ck.read(name).slice().buffer)];
      expect(f32("base")).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(f32("t")).to.deep.equal([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
      expect(f32("row1")).to.deep.equal([4, 5, 6, 7]);
      expect(f32("col2")).to.deep.equal([2, 6, 10]);
      expect(f32("bcast")).to.deep.equal([8, 9, 10, 11, 8, 9, 10, 11]);
      expect(f32("scalar")).to.deep.equal([5]);
      expect(ck.get("t")!.storageKey).to.equal("0");
      ck.close();
    });
  });

  it("opens an HF shard folder through its index and checks the index against the shards", () => {
    withTempDir((dir) => {
      const t = (name: string) => ({ name, dtype: "f16" as const, shape: [2], data: Uint8Array.from([1, 2, 3, 4]) });
      writeTorchCheckpoint(join(dir, "pytorch_model-00001-of-00002.bin"), [t("a"), t("b")]);
      writeTorchCheckpoint(join(dir, "pytorch_model-00002-of-00002.bin"), [t("c")]);
      const index = { metadata: { total_size: 12 }, weight_map: { a: "pytorch_model-00001-of-00002.bin", b: "pytorch_model-00001-of-00002.bin", c: "pytorch_model-00002-of-00002.bin" } };
      writeFileSync(join(dir, "pytorch_model.bin.index.json"), JSON.stringify(index));
      const ck = openTorchCheckpoint(dir);
      expect(ck.tensors.map((x) => x.name)).to.deep.equal(["a", "b", "c"]);
      ck.close();
      writeFileSync(join(dir, "pytorch_model.bin.index.json"), JSON.stringify({ weight_map: { ...index.weight_map, c: "pytorch_model-00001-of-00002.bin" } }));
      expect(() => openTorchCheckpoint(dir)).to.throw(/weight_map\.c/);
      writeFileSync(join(dir, "pytorch_model.bin.index.json"), JSON.stringify({ weight_map: { a: "../pytorch_model-00001-of-00002.bin" } }));
      expect(() => openTorchCheckpoint(dir)).to.throw(/not a file name in this folder/);
    });
  });
});

describe("torch zip + crc32", () => {
  it("crc32 matches known values and is incremental", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).to.equal(0xcbf43926);
    expect(crc32(new Uint8Array(0))).to.equal(0);
    // Against a bitwise reference, at every alignment (the fast path reads 32-bit words).
    const bitwise = (bytes: Uint8Array): number => {
      let c = 0xffffffff;
      for (const x of bytes) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(400), fc.nat(7), (bytes, cut, shift) => {
      const s = bytes.subarray(Math.min(shift, bytes.length));
      const k = Math.min(cut, s.length);
      expect(crc32(s)).to.equal(bitwise(s));
      expect(crc32(s.subarray(k), crc32(s.subarray(0, k)))).to.equal(crc32(s));
    }), { numRuns: 150 });
  });

  it("round-trips arbitrary stored entries, with and without zip64 fields", () => {
    withTempDir((dir) => {
      fc.assert(fc.property(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9]{1,8}){0,2}$/), fc.uint8Array({ maxLength: 300 })), { selector: (e) => e[0], maxLength: 8 }),
        fc.boolean(),
        (entries, zip64) => {
          // zip64Threshold 0 puts every size, offset and count in zip64 fields, as a > 4 GiB file has them.
          const path = writeBytes(dir, "x.zip", zipBytes(entries, zip64 ? { zip64Threshold: 0 } : {}));
          const zip = ZipReader.open(path, { verifyCrc: true });
          try {
            expect(zip.entries.map((e) => e.name)).to.deep.equal(entries.map((e) => e[0]));
            for (const [name, data] of entries) expect([...zip.read(zip.get(name)!)]).to.deep.equal([...data]);
          } finally {
            zip.close();
          }
        }), { numRuns: 40 });
    });
  });
});
