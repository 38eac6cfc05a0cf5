// Zip writer laid out the way PyTorch's PyTorchStreamWriter (miniz) lays out torch.save
// files: stored entries; each local header carries an "FB" extra field of 'Z' padding so
// that the entry's data starts on a 64-byte boundary (torch mmaps storages); CRC and sizes
// follow the data in a data descriptor (flag bit 3), so data streams through once; then the
// central directory, a zip64 end record + locator (torch always writes them) and the end
// record. Entries or offsets of 4 GiB or more get zip64 extra fields.

import { crc32 } from "./crc32.js";

const ALIGN = 64;
const U32_MAX = 0xffffffff;
const FLAGS = 0x0808; // bit 3: data descriptor; bit 11: UTF-8 names

interface Written {
  name: Uint8Array;
  headerOffset: number;
  size: number;
  crc: number;
}

class Bytes {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private p = 0;
  constructor(n: number) {
    this.buf = new Uint8Array(n);
    this.view = new DataView(this.buf.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.p, v, true);
    this.p += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.p, v >>> 0, true);
    this.p += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.p, BigInt(v), true);
    this.p += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.buf.set(b, this.p);
    this.p += b.length;
    return this;
  }
  get bytes(): Uint8Array {
    if (this.p !== this.buf.length) throw new Error(`zip record: wrote ${this.p} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** Where the zip goes: an AtomicFileWriter, or any sequential sink that counts bytes. */
export interface ZipSink {
  readonly position: number;
  write(bytes: Uint8Array): void;
}

export class ZipWriter {
  private readonly written: Written[] = [];
  private current: { w: Written; done: number; zip64: boolean } | undefined;

  /** Sizes and offsets at or above this use zip64 fields (lowered only by tests). */
  private readonly zip64From: number;

  constructor(private readonly out: ZipSink, options: { zip64Threshold?: number } = {}) {
    this.zip64From = options.zip64Threshold ?? U32_MAX;
  }

  /** Start an entry of exactly `size` bytes; feed them with write(), then endEntry(). */
  beginEntry(name: string, size: number): void {
    if (this.current) throw new Error("zip writer: previous entry not ended");
    const nameBytes = new TextEncoder().encode(name);
    const headerOffset = this.out.position;
    const zip64 = size >= this.zip64From;
    const zip64Len = zip64 ? 4 + 16 : 0;
    const start = headerOffset + 30 + nameBytes.length + zip64Len + 4;
    const pad = (ALIGN - (start % ALIGN)) % ALIGN;
    const h = new Bytes(30 + nameBytes.length + zip64Len + 4 + pad)
      .u32(0x04034b50).u16(zip64 ? 45 : 0).u16(FLAGS).u16(0).u16(0).u16(0)
      .u32(0).u32(zip64 ? U32_MAX : 0).u32(zip64 ? U32_MAX : 0)
      .u16(nameBytes.length).u16(zip64Len + 4 + pad).raw(nameBytes);
    if (zip64) h.u16(1).u16(16).u64(0).u64(0); // sizes follow in the data descriptor
    h.u16(0x4246).u16(pad).raw(new Uint8Array(pad).fill(0x5a)); // "FB", 'Z' * pad
    this.out.write(h.bytes);
    this.current = { w: { name: nameBytes, headerOffset, size, crc: 0 }, done: 0, zip64 };
  }

  write(bytes: Uint8Array): void {
    const c = this.current;
    if (!c) throw new Error("zip writer: no entry begun");
    if (c.done + bytes.length > c.w.size) throw new RangeError(`zip entry: more than the announced ${c.w.size} bytes`);
    c.w.crc = crc32(bytes, c.w.crc);
    c.done += bytes.length;
    this.out.write(bytes);
  }

  endEntry(): void {
    const c = this.current;
    if (!c) throw new Error("zip writer: no entry begun");
    if (c.done !== c.w.size) throw new RangeError(`zip entry: ${c.done} bytes written, ${c.w.size} announced`);
    const d = c.zip64
      ? new Bytes(24).u32(0x08074b50).u32(c.w.crc).u64(c.w.size).u64(c.w.size)
      : new Bytes(16).u32(0x08074b50).u32(c.w.crc).u32(c.w.size).u32(c.w.size);
    this.out.write(d.bytes);
    this.written.push(c.w);
    this.current = undefined;
  }

  /** A whole entry at once. */
  add(name: string, bytes: Uint8Array): void {
    this.beginEntry(name, bytes.length);
    this.write(bytes);
    this.endEntry();
  }

  /** Central directory and end records. The caller commits the file afterwards. */
  finish(): void {
    if (this.current) throw new Error("zip writer: entry not ended");
    const cdOffset = this.out.position;
    for (const e of this.written) {
      const bigSize = e.size >= this.zip64From;
      const bigOffset = e.headerOffset >= this.zip64From;
      const extraLen = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
      const r = new Bytes(46 + e.name.length + extraLen)
        .u32(0x02014b50).u16(0).u16(extraLen ? 45 : 0).u16(FLAGS).u16(0).u16(0).u16(0)
        .u32(e.crc).u32(bigSize ? U32_MAX : e.size).u32(bigSize ? U32_MAX : e.size)
        .u16(e.name.length).u16(extraLen).u16(0).u16(0).u16(0).u32(0)
        .u32(bigOffset ? U32_MAX : e.headerOffset).raw(e.name);
      if (extraLen) {
        r.u16(1).u16(extraLen - 4);
        if (bigSize) r.u64(e.size).u64(e.size);
        if (bigOffset) r.u64(e.headerOffset);
      }
      this.out.write(r.bytes);
    }
    const cdSize = this.out.position - cdOffset;
    const n = this.written.length;
    const eocd64At = this.out.position;
    this.out.write(new Bytes(56).u32(0x06064b50).u64(44).u16(0x031e).u16(45).u32(0).u32(0)
      .u64(n).u64(n).u64(cdSize).u64(cdOffset).bytes);
    this.out.write(new Bytes(20).u32(0x07064b50).u32(0).u64(eocd64At).u32(1).bytes);
    const sat16 = (v: number): number => (v >= Math.min(0xffff, this.zip64From) ? 0xffff : v);
    const sat32 = (v: number): number => (v >= this.zip64From ? U32_MAX : v);
    this.out.write(new Bytes(22).u32(0x06054b50).u16(0).u16(0).u16(sat16(n)).u16(sat16(n))
      .u32(sat32(cdSize)).u32(sat32(cdOffset)).u16(0).bytes);
  }
}
