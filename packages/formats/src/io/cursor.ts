// ByteCursor: sequential little-endian reads over any PositionedReader (a file on disk,
// io/file.ts; bytes in memory, io/memory.ts). Kept apart from file.ts so that code reading
// from memory (the browser build) never imports node:fs.

import { FormatError } from "@llamats/tensor";

/** Positioned reads of a byte source of known size (RandomAccessFile, MemoryFile). */
export interface PositionedReader {
  readonly path: string;
  readonly size: number;
  /** Fill dst[0 .. length) with bytes [offset, offset + length); returns the filled view. */
  readInto(dst: Uint8Array, offset: number, length?: number, field?: string): Uint8Array;
  read(offset: number, length: number, field?: string): Uint8Array;
  close(): void;
}

const WINDOW = 1 << 20;

/**
 * Sequential little-endian reads over a RandomAccessFile, pulled in 1 MiB windows.
 * Every read first checks the bytes left in the file, so a lying length fails with a
 * FormatError before anything is allocated.
 */
export class ByteCursor {
  pos: number;
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // keep a leading U+FEFF (a real vocabulary piece)

  constructor(readonly file: PositionedReader, start = 0) {
    this.pos = start;
  }

  get path(): string {
    return this.file.path;
  }
  get bytesLeft(): number {
    return this.file.size - this.pos;
  }

  fail(field: string, detail: string, offset = this.pos): never {
    throw new FormatError(this.file.path, field, offset, detail);
  }

  /** Make [pos, pos + n) addressable in this.buf; returns the index of pos in buf. */
  private ensure(n: number, field: string): number {
    if (n > this.bytesLeft) this.fail(field, `needs ${n} bytes, only ${this.bytesLeft} left in file`);
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.file.size - this.pos);
    this.buf = this.file.read(this.pos, len, field);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(field: string): number {
    const i = this.ensure(1, field);
    this.pos += 1;
    return this.buf[i];
  }
  i8(field: string): number {
    const i = this.ensure(1, field);
    this.pos += 1;
    return this.view.getInt8(i);
  }
  u16(field: string): number {
    const i = this.ensure(2, field);
    this.pos += 2;
    return this.view.getUint16(i, true);
  }
  i16(field: string): number {
    const i = this.ensure(2, field);
    this.pos += 2;
    return this.view.getInt16(i, true);
  }
  u32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getUint32(i, true);
  }
  i32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getInt32(i, true);
  }
  f32(field: string): number {
    const i = this.ensure(4, field);
    this.pos += 4;
    return this.view.getFloat32(i, true);
  }
  f64(field: string): number {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getFloat64(i, true);
  }
  u64Big(field: string): bigint {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getBigUint64(i, true);
  }
  i64Big(field: string): bigint {
    const i = this.ensure(8, field);
    this.pos += 8;
    return this.view.getBigInt64(i, true);
  }
  /** A u64 that must fit a safe JS integer (counts, lengths, offsets). */
  u64(field: string): number {
    const at = this.pos;
    const v = this.u64Big(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(field, `value ${v} is too large`, at);
    return Number(v);
  }
  bytes(n: number, field: string): Uint8Array {
    const i = this.ensure(n, field);
    this.pos += n;
    return this.buf.slice(i, i + n);
  }
  utf8(n: number, field: string): string {
    const at = this.pos;
    const b = this.bytes(n, field);
    try {
      return this.decoder.decode(b);
    } catch {
      this.fail(field, "string is not valid UTF-8", at);
    }
  }
}
