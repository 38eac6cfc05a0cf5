// Protocol Buffers wire format, the subset SentencePiece's ModelProto uses: varints (wire
// type 0), fixed64 (1, skipped only), length-delimited (2) and fixed32 (5). Every read is
// bounds-checked and reports the file, the field being read and its byte offset.

import { FormatError } from "@llamats/tensor";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** One field as it appears on the wire; `start..end` spans its whole encoding (tag included). */
export interface WireField {
  readonly fieldNo: number;
  readonly wireType: number;
  /** Varint value (wire type 0); fixed32 raw bits (5). */
  readonly value: number;
  /** Payload bounds for wire type 2 (absolute offsets into the reader's buffer). */
  readonly payloadStart: number;
  readonly payloadEnd: number;
  readonly start: number;
  readonly end: number;
}

export class ProtoReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly context: string,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(field: string, offset: number, detail: string): never {
    throw new FormatError(this.file, `${this.context}.${field}`, offset, detail);
  }

  /**
   * A varint as a JS number. Values up to 2^53 are exact; a 10-byte varint is a negative
   * int32/int64 (protobuf sign-extends them), returned as its low 32 bits, signed.
   */
  varint(field: string): number {
    const at = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(field, at, "truncated varint");
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (i === 9) return this.low32Signed(at);
        if (result > Number.MAX_SAFE_INTEGER) this.fail(field, at, "varint exceeds 2^53");
        return result;
      }
    }
    this.fail(field, at, "varint longer than 10 bytes");
  }

  private low32Signed(at: number): number {
    let lo = 0;
    for (let i = 0; i < 5; i++) lo += (this.bytes[at + i] & 0x7f) * 2 ** (7 * i);
    return (lo % 2 ** 32) | 0;
  }

  fixed32Bits(field: string): number {
    const at = this.pos;
    if (at + 4 > this.end) this.fail(field, at, "truncated fixed32");
    this.pos += 4;
    return this.view.getUint32(at, true);
  }

  float32(field: string): number {
    const at = this.pos;
    if (at + 4 > this.end) this.fail(field, at, "truncated float");
    this.pos += 4;
    return this.view.getFloat32(at, true);
  }

  /** Reads the next field header + payload; the payload of a sub-message is not parsed. */
  field(): WireField {
    const start = this.pos;
    const tag = this.varint("tag");
    const fieldNo = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (fieldNo === 0) this.fail("tag", start, "field number 0");
    let value = 0;
    let payloadStart = 0;
    let payloadEnd = 0;
    switch (wireType) {
      case WIRE_VARINT:
        value = this.varint(`#${fieldNo}`);
        break;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail(`#${fieldNo}`, this.pos, "truncated fixed64");
        this.pos += 8;
        break;
      case WIRE_LEN: {
        const lenAt = this.pos;
        const len = this.varint(`#${fieldNo}.length`);
        if (len < 0 || this.pos + len > this.end) {
          this.fail(`#${fieldNo}`, lenAt, `length ${len} runs past the end (${this.end - this.pos} bytes left)`);
        }
        payloadStart = this.pos;
        payloadEnd = this.pos + len;
        this.pos = payloadEnd;
        break;
      }
      case WIRE_FIXED32:
        value = this.fixed32Bits(`#${fieldNo}`);
        break;
      default:
        this.fail("tag", start, `unsupported wire type ${wireType} (field ${fieldNo})`);
    }
    return { fieldNo, wireType, value, payloadStart, payloadEnd, start, end: this.pos };
  }

  expectWire(f: WireField, wireType: number, name: string): void {
    if (f.wireType !== wireType) {
      this.fail(name, f.start, `wire type ${f.wireType}, expected ${wireType}`);
    }
  }

  payload(f: WireField): Uint8Array {
    return this.bytes.subarray(f.payloadStart, f.payloadEnd);
  }

  /** UTF-8 payload; invalid UTF-8 is a format error (protobuf strings must be valid). */
  string(f: WireField, name: string): string {
    try {
      return strictDecoder.decode(this.payload(f));
    } catch {
      this.fail(name, f.payloadStart, "invalid UTF-8 in string");
    }
  }

  raw(f: WireField): Uint8Array {
    return this.bytes.subarray(f.start, f.end);
  }
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Growable output buffer for protobuf encoding. */
export class ProtoWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;
  private readonly scratch = new DataView(new ArrayBuffer(4));

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: number): void {
    this.ensure(10);
    if (v < 0) {
      // int32 negative: two's complement, sign-extended to 64 bits (10 bytes).
      let lo = v >>> 0;
      for (let i = 0; i < 4; i++) {
        this.buf[this.len++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      this.buf[this.len++] = (lo & 0x0f) | 0x70 | 0x80;
      for (let i = 0; i < 4; i++) this.buf[this.len++] = 0xff;
      this.buf[this.len++] = 0x01;
      return;
    }
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  tag(fieldNo: number, wireType: number): void {
    this.varint(fieldNo * 8 + wireType);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  lenDelimited(fieldNo: number, payload: Uint8Array): void {
    this.tag(fieldNo, WIRE_LEN);
    this.varint(payload.length);
    this.bytes(payload);
  }

  string(fieldNo: number, s: string): void {
    this.lenDelimited(fieldNo, encoder.encode(s));
  }

  float32(fieldNo: number, v: number): void {
    this.tag(fieldNo, WIRE_FIXED32);
    this.ensure(4);
    this.scratch.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = this.scratch.getUint8(i);
  }

  varintField(fieldNo: number, v: number): void {
    this.tag(fieldNo, WIRE_VARINT);
    this.varint(v);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
