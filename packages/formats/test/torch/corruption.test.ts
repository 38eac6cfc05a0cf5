// Corruption suite for torch checkpoints: truncation at every byte (so at every zip record
// boundary), bit flips anywhere outside tensor data, unsafe entry names, compressed or
// overlapping entries, storages and strided extents past the end, overflowing shapes,
// lying counts. Every one must fail with a FormatError (or, for a flip that lands in a
// field nobody checks, open cleanly), never another exception, a hang or a giant allocation.

import { expect } from "chai";
import { FormatError } from "@llamats/tensor";
import { ZipReader, openMetaCheckpoint, openTorchCheckpoint, pickleStateDict, unpickle, type PickledTensor } from "@llamats/formats";
import { checkpointBytes, withTempDir, writeBytes, zipBytes } from "./helpers.js";

/** A small valid checkpoint: two f16 tensors and one f32 one. */
function sample(): { bytes: Uint8Array } {
  const tensors: PickledTensor[] = [
    { name: "tok_embeddings.weight", dtype: "f16", shape: [4, 3], strides: [3, 1], storageKey: "0", storageOffset: 0, storageNumel: 12 },
    { name: "norm.weight", dtype: "f32", shape: [3], strides: [1], storageKey: "1", storageOffset: 0, storageNumel: 3 },
    { name: "output.weight", dtype: "f16", shape: [2, 3], strides: [3, 1], storageKey: "2", storageOffset: 0, storageNumel: 6 },
  ];
  const bytes = checkpointBytes(pickleStateDict(tensors), {
    "0": new Uint8Array(24).fill(1), "1": new Uint8Array(12).fill(2), "2": new Uint8Array(12).fill(3),
  });
  return { bytes };
}

/** Open and read every tensor; a non-FormatError escapes and fails the test. */
function openAndReadAll(path: string): "ok" | "FormatError" {
  try {
    const ck = openTorchCheckpoint(path);
    try {
      for (const t of ck.tensors) ck.read(t.name);
    } finally {
      ck.close();
    }
    return "ok";
  } catch (err) {
    if (err instanceof FormatError) return "FormatError";
    throw err;
  }
}

function expectFormatError(path: string, pattern: RegExp): FormatError {
  try {
    const ck = openTorchCheckpoint(path);
    for (const t of ck.tensors) ck.read(t.name);
    ck.close();
  } catch (err) {
    expect(err).to.be.instanceOf(FormatError);
    expect((err as Error).message).to.match(pattern);
    expect((err as Error).message).to.include(path);
    return err as FormatError;
  }
  throw new Error(`${path} was accepted`);
}

/** Replace every occurrence of `from` by `to` (same length) in the file's bytes. */
function patch(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = bytes.slice();
  const f = Buffer.from(from, "latin1");
  const t = Buffer.from(to, "latin1");
  expect(t.length).to.equal(f.length);
  let at = Buffer.from(out).indexOf(f);
  expect(at).to.be.at.least(0);
  while (at >= 0) {
    out.set(t, at);
    at = Buffer.from(out).indexOf(f, at + 1);
  }
  return out;
}

function centralOffset(bytes: Uint8Array, n: number): number {
  let at = -1;
  for (let i = 0; i <= n; i++) at = Buffer.from(bytes).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 1);
  return at;
}

describe("torch checkpoint corruption suite", () => {
  it("the sample is valid", () => {
    withTempDir((dir) => expect(openAndReadAll(writeBytes(dir, "ok.bin", sample().bytes))).to.equal("ok"));
  });

  it("truncation at every byte fails with a FormatError", () => {
    const { bytes } = sample();
    withTempDir((dir) => {
      for (let n = 0; n < bytes.length; n++) {
        expect(openAndReadAll(writeBytes(dir, "t.bin", bytes.subarray(0, n))), `truncated to ${n}`).to.equal("FormatError");
      }
    });
  });

  it("every single-byte flip either fails with a FormatError or opens cleanly", () => {
    const { bytes } = sample();
    withTempDir((dir) => {
      let rejected = 0;
      for (let i = 0; i < bytes.length; i++) {
        const bad = bytes.slice();
        bad[i] ^= [0x01, 0x80, 0xff][i % 3]; // low bit, high bit, whole byte in turn
        if (openAndReadAll(writeBytes(dir, "f.bin", bad)) === "FormatError") rejected++;
      }
      expect(rejected).to.be.greaterThan(bytes.length / 4);
    });
  });

  it("rejects entry names with '..', absolute names and backslashes", () => {
    withTempDir((dir) => {
      const ok = checkpointBytes(pickleStateDict([]), {}, "zz");
      expectFormatError(writeBytes(dir, "dotdot.bin", patch(ok, "zz/data.pkl", "../data.pkl")), /unsafe or empty name "\.\.\/data\.pkl"/);
      expectFormatError(writeBytes(dir, "abs.bin", patch(ok, "zz/version", "/z/version")), /unsafe/);
      expectFormatError(writeBytes(dir, "bs.bin", patch(ok, "zz/version", "zz\\version")), /unsafe/);
      expectFormatError(writeBytes(dir, "mid.bin", patch(ok, "zz/version", "z/../versi")), /unsafe/);
    });
  });

  it("rejects compressed entries, encrypted entries and duplicate names", () => {
    const { bytes } = sample();
    withTempDir((dir) => {
      const cd = centralOffset(bytes, 1);
      const deflated = bytes.slice();
      deflated[cd + 10] = 8;
      expectFormatError(writeBytes(dir, "deflate.bin", deflated), /method 8: only stored/);
      const enc = bytes.slice();
      enc[cd + 8] |= 1;
      expectFormatError(writeBytes(dir, "enc.bin", enc), /encrypted/);
      const ok = checkpointBytes(pickleStateDict([]), { "0": new Uint8Array(2), "1": new Uint8Array(2) }, "zz");
      expectFormatError(writeBytes(dir, "dup.bin", patch(ok, "zz/data/1", "zz/data/0")), /duplicate entry/);
    });
  });

  it("rejects overlapping entries and offsets past the directory", () => {
    const { bytes } = sample();
    withTempDir((dir) => {
      const cd1 = centralOffset(bytes, 1);
      const cd0 = centralOffset(bytes, 0);
      const overlap = bytes.slice();
      // entry 1's local header offset := entry 0's data start + 1 (inside entry 0's data)
      const view = new DataView(overlap.buffer);
      const zip0 = view.getUint32(cd0 + 42, true);
      view.setUint32(cd1 + 42, zip0 + 70, true);
      expect(openAndReadAll(writeBytes(dir, "overlap.bin", overlap))).to.equal("FormatError");
      const past = bytes.slice();
      new DataView(past.buffer).setUint32(cd1 + 42, 0x7fffffff, true);
      expectFormatError(writeBytes(dir, "past.bin", past), /past the central directory/);
      const bigSize = bytes.slice();
      new DataView(bigSize.buffer).setUint32(cd1 + 20, 0x7ffffff0, true);
      new DataView(bigSize.buffer).setUint32(cd1 + 24, 0x7ffffff0, true);
      expectFormatError(writeBytes(dir, "size.bin", bigSize), /run past the central directory/);
    });
  });

  it("rejects lying counts in the end records (classic and zip64)", () => {
    const { bytes } = sample();
    withTempDir((dir) => {
      const n = bytes.length;
      const eocd = bytes.slice();
      new DataView(eocd.buffer).setUint16(n - 22 + 10, 0xfffe, true);
      // With a zip64 locator present the zip64 record rules; lie there too.
      const z64 = n - 22 - 20 - 56;
      const lie = bytes.slice();
      new DataView(lie.buffer).setBigUint64(z64 + 32, 0xffffffffffffffffn, true);
      expectFormatError(writeBytes(dir, "count64.bin", lie), /too large/);
      const lie2 = bytes.slice();
      new DataView(lie2.buffer).setBigUint64(z64 + 32, 1000000n, true);
      expectFormatError(writeBytes(dir, "count.bin", lie2), /cannot fit/);
      const lie3 = bytes.slice();
      new DataView(lie3.buffer).setBigUint64(z64 + 48, BigInt(n), true);
      expectFormatError(writeBytes(dir, "cdoff.bin", lie3), /runs past its end record/);
      const bigDir = bytes.slice();
      new DataView(bigDir.buffer).setBigUint64(z64 + 40, 1n << 40n, true);
      expectFormatError(writeBytes(dir, "bigdir.bin", bigDir), /runs past its end record|exceeds/);
      const loc = bytes.slice();
      new DataView(loc.buffer).setBigUint64(n - 22 - 20 + 8, 1n << 62n, true);
      expectFormatError(writeBytes(dir, "loc.bin", loc), /past the locator/);
      expectFormatError(writeBytes(dir, "junk.bin", new Uint8Array(100).fill(0x50)), /not a zip file/);
    });
  });

  it("rejects storages that are missing, of the wrong size, or read past by strides", () => {
    withTempDir((dir) => {
      const t = (over: Partial<PickledTensor>): PickledTensor => ({
        name: "w", dtype: "f16", shape: [2, 3], strides: [3, 1], storageKey: "0", storageOffset: 0, storageNumel: 6, ...over,
      });
      const storage = { "0": new Uint8Array(12) };
      const file = (name: string, ts: PickledTensor[], st: Record<string, Uint8Array> = storage) =>
        writeBytes(dir, name, checkpointBytes(pickleStateDict(ts), st));
      expectFormatError(file("missing.bin", [t({ storageKey: "7" })]), /storage entry archive\/data\/7 is missing/);
      expectFormatError(file("numel.bin", [t({ storageNumel: 600 })]), /needs 1200 bytes, entry has 12/);
      expectFormatError(file("offset.bin", [t({ storageOffset: 1 })]), /elements up to 6 are read from a storage of 6/);
      expectFormatError(file("stride.bin", [t({ strides: [4, 1] })]), /up to 6/);
      expectFormatError(file("overflow.bin", [t({ shape: [2 ** 30, 2 ** 30, 2 ** 30], strides: [0, 0, 0] })]), /overflows/);
      expectFormatError(file("huge.bin", [t({ shape: [2 ** 52], strides: [1] })]), /overflows|storage of 6/);
      expect(openAndReadAll(file("empty.bin", [t({ shape: [0, 3], strides: [3, 1], storageOffset: 6 })]))).to.equal("ok");
    });
  });

  it("rejects a pickle that is not a dict, or holds disallowed globals, naming data.pkl", () => {
    withTempDir((dir) => {
      const listPkl = Uint8Array.from([0x80, 2, 0x5d, 0x2e]);
      expectFormatError(writeBytes(dir, "list.bin", checkpointBytes(listPkl, {})), /not a dict/);
      const evil = Buffer.from("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.", "latin1");
      const e = expectFormatError(writeBytes(dir, "evil.bin", checkpointBytes(evil, {})), /os\.system is not allowed/);
      expect(e.file).to.match(/evil\.bin:archive\/data\.pkl$/);
      expect(e.offset).to.equal(2);
      expectFormatError(writeBytes(dir, "nopkl.zip", checkpointBytes(listPkl, {}).slice()), /not a dict/);
    });
  });

  it("accepts torch 2.x's byteorder entry when it says little, rejects big-endian storages", () => {
    withTempDir((dir) => {
      const pkl = pickleStateDict([]);
      const withOrder = (order: string) => zipBytes([["archive/data.pkl", pkl], ["archive/byteorder", new TextEncoder().encode(order)], ["archive/version", new TextEncoder().encode("3\n")]]);
      expect(openAndReadAll(writeBytes(dir, "le.bin", withOrder("little")))).to.equal("ok");
      expectFormatError(writeBytes(dir, "be.bin", withOrder("big")), /not little-endian/);
    });
  });

  it("a missing file or a folder without a checkpoint is a FormatError", () => {
    withTempDir((dir) => {
      expect(() => openTorchCheckpoint(`${dir}/nope.bin`)).to.throw(FormatError);
      expect(() => openTorchCheckpoint(dir)).to.throw(FormatError, /no pytorch_model/);
      expect(() => ZipReader.open(writeBytes(dir, "empty.zip", new Uint8Array(0)))).to.throw(FormatError, /too short/);
      expect(() => unpickle(new Uint8Array(0), "x")).to.throw(FormatError);
      const legacy = writeBytes(dir, "legacy.bin", Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
      expect(() => openTorchCheckpoint(legacy)).to.throw(FormatError, /legacy torch\.save format/);
      expect(() => openMetaCheckpoint(`${dir}/nope`)).to.throw(FormatError, /no such file/);
      expect(() => openMetaCheckpoint(dir)).to.throw(FormatError, /params\.json/);
    });
  });
});
