// A metadata-only GGUF reader, enough to build a tokenizer from a `.gguf` file without the
// formats package: magic "GGUF", version (2 or 3), tensor count (u64), key/value count
// (u64), then key/value pairs (key: u64 length + UTF-8; value: u32 type + payload; arrays:
// u32 element type + u64 count + elements). Tensor infos and data are not read. The file is
// read in growing prefixes, so a multi-gigabyte model costs only its header.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError } from "@llamats/tensor";

const T_U8 = 0, T_I8 = 1, T_U16 = 2, T_I16 = 3, T_U32 = 4, T_I32 = 5, T_F32 = 6, T_BOOL = 7,
  T_STRING = 8, T_ARRAY = 9, T_U64 = 10, T_I64 = 11, T_F64 = 12;
const SCALAR_SIZE: Record<number, number> = {
  [T_U8]: 1, [T_I8]: 1, [T_U16]: 2, [T_I16]: 2, [T_U32]: 4, [T_I32]: 4, [T_F32]: 4, [T_BOOL]: 1,
  [T_U64]: 8, [T_I64]: 8, [T_F64]: 8,
};

class NeedMore extends Error {}

class Cursor {
  pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly fileSize: number,
    private readonly file: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, field: string): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > this.fileSize) {
      throw new FormatError(this.file, field, this.pos, `needs ${n} bytes, file ends at ${this.fileSize}`);
    }
    throw new NeedMore();
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(field: string): number {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(this.file, field, this.pos - 8, `count ${v} is too large`);
    return Number(v);
  }
  string(field: string): string {
    const at = this.pos;
    const len = this.u64(field);
    if (len > this.fileSize) throw new FormatError(this.file, field, at, `string length ${len} exceeds the file size`);
    this.need(len, field);
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  scalar(type: number, field: string): number | bigint | boolean {
    const size = SCALAR_SIZE[type];
    this.need(size, field);
    const p = this.pos;
    this.pos += size;
    const v = this.view;
    switch (type) {
      case T_U8: return v.getUint8(p);
      case T_I8: return v.getInt8(p);
      case T_U16: return v.getUint16(p, true);
      case T_I16: return v.getInt16(p, true);
      case T_U32: return v.getUint32(p, true);
      case T_I32: return v.getInt32(p, true);
      case T_F32: return v.getFloat32(p, true);
      case T_BOOL: return v.getUint8(p) !== 0;
      case T_U64: return v.getBigUint64(p, true);
      case T_I64: return v.getBigInt64(p, true);
      default: return v.getFloat64(p, true);
    }
  }
  value(type: number, field: string): unknown {
    if (type === T_STRING) return this.string(field);
    if (type === T_ARRAY) {
      const at = this.pos;
      const elemType = this.u32(`${field} (array type)`);
      const count = this.u64(`${field} (array length)`);
      if (elemType === T_ARRAY) throw new FormatError(this.file, field, at, "nested arrays are not supported");
      const minSize = elemType === T_STRING ? 8 : SCALAR_SIZE[elemType];
      if (minSize === undefined) throw new FormatError(this.file, field, at, `unknown array element type ${elemType}`);
      if (count * minSize > this.fileSize - this.pos) {
        throw new FormatError(this.file, field, at, `array of ${count} elements does not fit in the file`);
      }
      if (elemType === T_F32) {
        this.need(count * 4, field);
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = this.view.getFloat32(this.pos + 4 * i, true);
        this.pos += count * 4;
        return out;
      }
      if (elemType === T_I32) {
        this.need(count * 4, field);
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) out[i] = this.view.getInt32(this.pos + 4 * i, true);
        this.pos += count * 4;
        return out;
      }
      const out: unknown[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = this.value(elemType, field);
      return out;
    }
    if (SCALAR_SIZE[type] === undefined) throw new FormatError(this.file, field, this.pos - 4, `unknown value type ${type}`);
    return this.scalar(type, field);
  }
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true }); // keep U+FEFF: it is a LLaMA piece
const MAGIC = 0x46554747; // "GGUF" little-endian

function parse(buf: Uint8Array, fileSize: number, file: string): Record<string, unknown> {
  const c = new Cursor(buf, fileSize, file);
  const magic = c.u32("magic");
  if (magic !== MAGIC) throw new FormatError(file, "magic", 0, "not a GGUF file (magic is not \"GGUF\")");
  const version = c.u32("version");
  if (version !== 2 && version !== 3) throw new FormatError(file, "version", 4, `GGUF version ${version} is not supported (2 or 3)`);
  c.u64("n_tensors");
  const nKv = c.u64("n_kv");
  if (nKv * 12 > fileSize) throw new FormatError(file, "n_kv", 16, `${nKv} key/value pairs cannot fit in the file`);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < nKv; i++) {
    const key = c.string(`metadata[${i}].key`);
    const type = c.u32(`${key} (type)`);
    out[key] = c.value(type, key);
  }
  return out;
}

/** The metadata key/value pairs of a GGUF file (arrays of f32/i32 as typed arrays). */
export function readGgufMetadata(path: string): Record<string, unknown> {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    for (let size = Math.min(fileSize, 4 << 20); ; size = Math.min(fileSize, size * 4)) {
      const buf = new Uint8Array(size);
      const got = readSync(fd, buf, 0, size, 0);
      try {
        return parse(buf.subarray(0, got), fileSize, path);
      } catch (e) {
        if (!(e instanceof NeedMore) || size >= fileSize) throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}
