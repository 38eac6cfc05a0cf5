// Resource limits (src/limits.ts): a header that claims huge counts, lengths or element
// counts fails with a FormatError naming the field and offset *before* anything is
// allocated for it, and every limit can be lowered/raised per call or by LLAMATS_LIMITS.
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { GGMLType, FormatError, LlamatsError } from "@llamats/tensor";
import {
  gguf, openGguf, openSafetensors, readerLimits, defaultReaderLimits, unpickle, writeGguf, writeSafetensors,
} from "@llamats/formats";
import { makeTmpDir, thrown } from "./helpers/tmp.js";

const tmp = makeTmpDir("limits");
after(() => tmp.cleanup());

/** Little-endian byte builder for hand-made hostile headers. */
class Bytes {
  private parts: Buffer[] = [];
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.u64(BigInt(Buffer.byteLength(s)));
    this.parts.push(Buffer.from(s));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  get buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const GGUF_MAGIC = 0x46554747;
function ggufHeader(nTensors: bigint, nKv: bigint): Bytes {
  return new Bytes().u32(GGUF_MAGIC).u32(3).u64(nTensors).u64(nKv);
}
function formatErrorOf(fn: () => unknown): FormatError {
  const err = thrown(fn);
  expect(err, String(err.stack)).to.be.instanceOf(FormatError);
  return err as FormatError;
}
function file(name: string, bytes: Uint8Array): string {
  const p = tmp.path(name);
  writeFileSync(p, bytes);
  return p;
}

describe("reader resource limits", () => {
  afterEach(() => delete process.env.LLAMATS_LIMITS);

  it("GGUF: a tensor count of 10^9 fails at n_tensors on the limit", () => {
    const p = file("count.gguf", ggufHeader(1_000_000_000n, 0n).raw(new Uint8Array(64 << 10)).buffer);
    const e = formatErrorOf(() => openGguf(p));
    expect([e.field, e.offset, e.file]).to.deep.equal(["n_tensors", 8, p]);
    expect(e.detail).to.match(/maxTensors/);
  });

  it("GGUF: a key/value count of 2^40 fails at n_kv", () => {
    const e = formatErrorOf(() => openGguf(file("kv.gguf", ggufHeader(0n, 1n << 40n).raw(new Uint8Array(1024)).buffer)));
    expect([e.field, e.offset]).to.deep.equal(["n_kv", 16]);
    expect(e.detail).to.match(/maxKv/);
  });

  it("GGUF: a 4 GiB string length fails at the key's length field", () => {
    const b = ggufHeader(0n, 1n).u64(1n << 32n).raw(new Uint8Array(256));
    const e = formatErrorOf(() => openGguf(file("str.gguf", b.buffer)));
    expect([e.field, e.offset]).to.deep.equal(["kv[0].key length", 24]);
    expect(e.detail).to.match(/maxStringBytes/);
  });

  it("GGUF: a metadata array of 2^40 items fails at its count", () => {
    const b = ggufHeader(0n, 1n).str("a").u32(9 /* ARRAY */).u32(0 /* UINT8 */).u64(1n << 40n).raw(new Uint8Array(256));
    const e = formatErrorOf(() => openGguf(file("arr.gguf", b.buffer)));
    expect([e.field, e.offset]).to.deep.equal(["a count", 24 + 9 + 4 + 4]);
    expect(e.detail).to.match(/maxArrayItems/);
  });

  it("GGUF: a tensor of 2^60 elements fails at its dims", () => {
    const b = ggufHeader(1n, 0n).str("t").u32(2).u64(1n << 30n).u64(1n << 30n).u32(GGMLType.F32).u64(0n).raw(new Uint8Array(64));
    const e = formatErrorOf(() => openGguf(file("elems.gguf", b.buffer)));
    expect(e.field).to.equal('tensor "t" ne');
    expect(e.offset).to.equal(24 + 9 + 4 + 8);
    expect(e.detail).to.match(/maxTensorElements/);
  });

  it("GGUF: limits are overridable per call and by LLAMATS_LIMITS", () => {
    const p = tmp.path("ok.gguf");
    writeGguf(p, {
      kv: [gguf.str("general.architecture", "llama")],
      tensors: [
        { name: "a", type: GGMLType.F32, shape: [2], data: new Uint8Array(8) },
        { name: "b", type: GGMLType.F32, shape: [2], data: new Uint8Array(8) },
      ],
    });
    openGguf(p).close();
    expect(formatErrorOf(() => openGguf(p, { limits: { maxTensors: 1 } })).detail).to.match(/2 tensors exceed the limit of 1/);
    process.env.LLAMATS_LIMITS = "maxStringBytes=4";
    expect(formatErrorOf(() => openGguf(p)).field).to.equal("kv[0].key length");
    // The caller's override wins over the environment.
    openGguf(p, { limits: { maxStringBytes: 1 << 20 } }).close();
  });

  it("LLAMATS_LIMITS: a malformed value is a LlamatsError naming the variable", () => {
    process.env.LLAMATS_LIMITS = "maxTensors=lots";
    const e = thrown(() => readerLimits());
    expect(e).to.be.instanceOf(LlamatsError);
    expect(e.message).to.match(/^LLAMATS_LIMITS: "maxTensors=lots"/);
    process.env.LLAMATS_LIMITS = "maxTensors=7, maxKv=1e3";
    expect(readerLimits()).to.deep.equal({ ...defaultReaderLimits, maxTensors: 7, maxKv: 1000 });
  });

  it("safetensors: a header length of 2^50 fails at byte 0 on the limit", () => {
    const p = file("big.safetensors", new Bytes().u64(1n << 50n).raw(Buffer.from("{}")).buffer);
    const e = formatErrorOf(() => openSafetensors(p));
    expect([e.field, e.offset]).to.deep.equal(["header length", 0]);
    expect(e.detail).to.match(/maxHeaderBytes/);
  });

  it("safetensors: shapes of 2^60 elements and limit overrides", () => {
    const header = JSON.stringify({ t: { dtype: "U8", shape: [1 << 30, 1 << 30], data_offsets: [0, 0] } });
    const p = file("shape.safetensors", new Bytes().u64(BigInt(header.length)).raw(Buffer.from(header)).buffer);
    const e = formatErrorOf(() => openSafetensors(p));
    expect(e.field).to.equal('tensor "t".shape');
    expect(e.detail).to.match(/maxTensorElements/);
    const ok = tmp.path("ok.safetensors");
    writeSafetensors(ok, [{ name: "a", dtype: "F32", shape: [2], data: new Uint8Array(8) }, { name: "b", dtype: "F32", shape: [1], data: new Uint8Array(4) }]);
    openSafetensors(ok).close();
    expect(formatErrorOf(() => openSafetensors(ok, { limits: { maxTensors: 1 } })).detail).to.match(/maxTensors/);
    expect(formatErrorOf(() => openSafetensors(ok, { limits: { maxHeaderBytes: 16 } })).detail).to.match(/maxHeaderBytes/);
  });

  it("pickle: a 5 MB pickle that DUPs its way to a 5M-item list fails on maxValues", () => {
    const n = 5_000_000;
    const body = new Uint8Array(n + 8);
    body.set([0x80, 0x02, 0x5d /* EMPTY_LIST */, 0x28 /* MARK */, 0x4e /* NONE */]);
    body.fill(0x32 /* DUP */, 5, 5 + n);
    body.set([0x65 /* APPENDS */, 0x2e /* STOP */], 5 + n);
    const e = thrown(() => unpickle(body, "huge.pkl"));
    expect(e, String(e.stack)).to.be.instanceOf(FormatError);
    expect((e as FormatError).field).to.equal("values");
    expect((e as FormatError).file).to.equal("huge.pkl");
    // The same shape under the limit works: the limit, not the shape, is what fails.
    const small = new Uint8Array([0x80, 0x02, 0x5d, 0x28, 0x4e, 0x32, 0x32, 0x65, 0x2e]);
    expect((unpickle(small, "small.pkl") as { items: unknown[] }).items).to.have.length(3);
    expect((thrown(() => unpickle(small, "small.pkl", { maxBytes: 100, maxMemo: 10, maxDepth: 10, maxValues: 3 })) as FormatError).field).to.equal("values");
  });
});
