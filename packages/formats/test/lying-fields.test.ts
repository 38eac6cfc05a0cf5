// fast-check property layer for structured inputs: a valid file built by our writers with
// ONE header field made to lie (a count, length, dimension, type, offset or size replaced by
// a hostile value), for GGUF, safetensors, torch zip checkpoints and llama2.c. Opening it and
// reading every tensor either works or throws a FormatError naming the file; never a
// RangeError/TypeError, and each input finishes in bounded time (a hang guard).
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { FormatError, GGMLType } from "@llamats/tensor";
import { gguf, openGguf, openLlama2c, openSafetensors, openTorchCheckpoint, writeGguf, writeSafetensors, writeTorchCheckpoint } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("lying");
after(() => tmp.cleanup());

/** A little-endian integer field of a file: where, how wide, what it is. */
interface Field { at: number; width: 2 | 4 | 8; name: string }

const HOSTILE = [0n, 1n, 2n, 3n, 31n, 32n, 255n, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, 1n << 60n, (1n << 63n) - 1n, (1n << 64n) - 1n];

function setField(good: Buffer, f: Field, v: bigint): Buffer {
  const b = Buffer.from(good);
  const masked = v & ((1n << BigInt(8 * f.width)) - 1n);
  if (f.width === 8) b.writeBigUInt64LE(masked, f.at);
  else if (f.width === 4) b.writeUInt32LE(Number(masked), f.at);
  else b.writeUInt16LE(Number(masked), f.at);
  return b;
}

const lieValue = (good: Buffer) => fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.constantFrom(BigInt(good.length), BigInt(good.length + 1), BigInt(good.length - 1)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: 4096n }),
);

function assertLies(name: string, good: Buffer, fields: Field[], open: (path: string) => void, numRuns = 400): void {
  const p = tmp.path(name);
  open((writeFileSync(p, good), p)); // the unmodified file is valid
  fc.assert(
    fc.property(fc.nat(fields.length - 1), lieValue(good), (i, v) => {
      writeFileSync(p, setField(good, fields[i], v));
      const t0 = performance.now();
      try {
        open(p);
      } catch (err) {
        expect(err, `${fields[i].name} = ${v}: ${String((err as Error).stack)}`).to.be.instanceOf(FormatError);
        expect((err as FormatError).file.startsWith(p)).to.equal(true);
      }
      expect(performance.now() - t0, `${fields[i].name} = ${v}`).to.be.below(5000);
    }),
    { numRuns },
  );
}

/** Every count, length, type, dimension and offset field of a GGUF header. */
function ggufFields(b: Buffer): Field[] {
  const out: Field[] = [{ at: 4, width: 4, name: "version" }, { at: 8, width: 8, name: "n_tensors" }, { at: 16, width: 8, name: "n_kv" }];
  let p = 24;
  const str = (name: string) => {
    out.push({ at: p, width: 8, name: `${name} length` });
    p += 8 + Number(b.readBigUInt64LE(p));
  };
  const SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type: number, name: string): void => {
    if (type === 8) return str(name);
    if (type === 9) {
      out.push({ at: p, width: 4, name: `${name} item type` });
      const item = b.readUInt32LE(p);
      out.push({ at: p + 4, width: 8, name: `${name} count` });
      const n = Number(b.readBigUInt64LE(p + 4));
      p += 12;
      for (let i = 0; i < n; i++) value(item, `${name}[${i}]`);
      return;
    }
    p += SIZES[type];
  };
  const nTensors = Number(b.readBigUInt64LE(8));
  const nKv = Number(b.readBigUInt64LE(16));
  for (let i = 0; i < nKv; i++) {
    str(`kv[${i}].key`);
    out.push({ at: p, width: 4, name: `kv[${i}] type` });
    const type = b.readUInt32LE(p);
    p += 4;
    value(type, `kv[${i}]`);
  }
  for (let i = 0; i < nTensors; i++) {
    str(`tensor[${i}].name`);
    out.push({ at: p, width: 4, name: `tensor[${i}].n_dims` });
    const nd = b.readUInt32LE(p);
    p += 4;
    for (let d = 0; d < nd; d++, p += 8) out.push({ at: p, width: 8, name: `tensor[${i}].ne[${d}]` });
    out.push({ at: p, width: 4, name: `tensor[${i}].type` }, { at: p + 4, width: 8, name: `tensor[${i}].offset` });
    p += 12;
  }
  return out;
}

/** EOCD, central directory and local header integer fields of a zip (no zip64, no comment). */
function zipFields(b: Buffer): Field[] {
  const eocd = b.length - 22;
  expect(b.readUInt32LE(eocd)).to.equal(0x06054b50);
  const out: Field[] = [
    { at: eocd + 8, width: 2, name: "eocd entries on disk" }, { at: eocd + 10, width: 2, name: "eocd entries" },
    { at: eocd + 12, width: 4, name: "eocd cd size" }, { at: eocd + 16, width: 4, name: "eocd cd offset" }, { at: eocd + 20, width: 2, name: "eocd comment length" },
  ];
  let p = b.readUInt32LE(eocd + 16);
  for (let i = 0; i < b.readUInt16LE(eocd + 10); i++) {
    out.push(
      { at: p + 10, width: 2, name: `cd[${i}] method` }, { at: p + 20, width: 4, name: `cd[${i}] compressed size` },
      { at: p + 24, width: 4, name: `cd[${i}] size` }, { at: p + 28, width: 2, name: `cd[${i}] name length` },
      { at: p + 30, width: 2, name: `cd[${i}] extra length` }, { at: p + 42, width: 4, name: `cd[${i}] local offset` },
    );
    const local = b.readUInt32LE(p + 42);
    out.push(
      { at: local + 8, width: 2, name: `local[${i}] method` }, { at: local + 18, width: 4, name: `local[${i}] compressed size` },
      { at: local + 26, width: 2, name: `local[${i}] name length` }, { at: local + 28, width: 2, name: `local[${i}] extra length` },
    );
    p += 46 + b.readUInt16LE(p + 28) + b.readUInt16LE(p + 30) + b.readUInt16LE(p + 32);
  }
  return out;
}

const f16 = (n: number): Uint8Array => new Uint8Array(n * 2).map((_, i) => (i * 13) & 0x7f);

describe("one field made to lie (fast-check, structured)", () => {
  it("GGUF: counts, string lengths, array item types/counts, dims, types, offsets", () => {
    const p = tmp.path("good.gguf");
    writeGguf(p, {
      kv: [
        gguf.str("general.architecture", "llama"), gguf.u32("llama.block_count", 1),
        gguf.array("tokenizer.ggml.tokens", 8, ["<unk>", "<s>", "▁a"]), gguf.array("tokenizer.ggml.scores", 6, [0, 0, -1]),
      ],
      tensors: [
        { name: "token_embd.weight", type: GGMLType.F16, shape: [3, 8], data: f16(24) },
        { name: "q", type: GGMLType.Q4_0, shape: [2, 32], data: new Uint8Array(36) },
        { name: "n", type: GGMLType.F32, shape: [8], data: new Uint8Array(32) },
      ],
    });
    const good = readFileSync(p);
    const fields = ggufFields(good);
    expect(fields.length).to.be.above(25);
    assertLies("lying.gguf", good, fields, (path) => {
      const g = openGguf(path);
      try {
        for (const t of g.tensors) g.readTensor(t);
      } finally {
        g.close();
      }
    });
  });

  it("safetensors: header length, dtype, shape and data_offsets", () => {
    const p = tmp.path("good.safetensors");
    writeSafetensors(p, [
      { name: "a", dtype: "F16", shape: [3, 8], data: f16(24) },
      { name: "b", dtype: "F32", shape: [4], data: new Uint8Array(16) },
    ], { format: "pt" });
    const good = readFileSync(p);
    const open = (path: string) => {
      const s = openSafetensors(path);
      try {
        for (const t of s.tensors) s.readTensor(t);
      } finally {
        s.close();
      }
    };
    assertLies("lying-len.safetensors", good, [{ at: 0, width: 8, name: "header length" }], open, 100);
    // JSON fields: rewrite the header with one value replaced, the length prefix kept honest.
    const headerLen = Number(good.readBigUInt64LE(0));
    const header = JSON.parse(good.subarray(8, 8 + headerLen).toString()) as Record<string, any>;
    const data = good.subarray(8 + headerLen);
    const lying = fc.oneof(
      fc.constantFrom(-1, 0, 1, 1.5, 2 ** 53, 2 ** 60, 1e308, -0, null, "F16", "X", true, [], [1], [0, 0], [2 ** 31, 2 ** 31], {}),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const lp = tmp.path("lying.safetensors");
    fc.assert(
      fc.property(fc.constantFrom("a", "b"), fc.constantFrom("dtype", "shape", "shape0", "data_offsets", "data_offsets0", "data_offsets1", "extra"), lying, (name, field, v) => {
        const h = structuredClone(header);
        const e = h[name];
        if (field === "shape0") e.shape[0] = v;
        else if (field.startsWith("data_offsets") && field.length > 12) e.data_offsets[Number(field.slice(12))] = v;
        else e[field] = v;
        const text = Buffer.from(JSON.stringify(h));
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(text.length));
        writeFileSync(lp, Buffer.concat([len, text, data]));
        try {
          open(lp);
        } catch (err) {
          expect(err, `${name}.${field} = ${JSON.stringify(v)}: ${String((err as Error).stack)}`).to.be.instanceOf(FormatError);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("torch zip checkpoint: EOCD, central directory and local header fields", () => {
    const p = tmp.path("good.bin");
    writeTorchCheckpoint(p, [
      { name: "model.embed_tokens.weight", dtype: "f16", shape: [3, 8], data: f16(24) },
      { name: "lm_head.weight", dtype: "f32", shape: [2, 2], data: new Uint8Array(16) },
    ]);
    const good = readFileSync(p);
    const fields = zipFields(good);
    expect(fields.length).to.be.above(20);
    assertLies("lying.bin", good, fields, (path) => {
      const c = openTorchCheckpoint(path, { verifyCrc: true });
      try {
        for (const t of c.tensors) c.read(t.name);
      } finally {
        c.close();
      }
    });
  });

  it("llama2.c: each of the 7 header int32s", () => {
    const dim = 8, hidden = 4, layers = 1, vocab = 3, seq = 2, heads = 2;
    const n = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seq * (dim / heads);
    const good = Buffer.concat([Buffer.from(new Int32Array([dim, hidden, layers, heads, heads, vocab, seq]).buffer), Buffer.alloc(n * 4)]);
    const names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
    assertLies("lying-l2c.bin", good, names.map((name, i) => ({ at: 4 * i, width: 4 as const, name })), (path) => {
      const m = openLlama2c(path);
      try {
        for (const t of m.tensors) m.readTensor(t.name);
      } finally {
        m.close();
      }
    }, 300);
  });
});
