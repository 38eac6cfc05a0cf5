// GGUF reader (format: see types.ts). Scope: versions 2 and 3, little-endian; every metadata
// type incl. nested arrays; every ggml type id in @llamats/tensor's table (K types are
// opaque blocks). Opening reads only the header; tensor bytes are read on demand by
// positioned reads. Everything is validated before it is allocated or trusted: counts and
// string lengths against the bytes left, dims and offsets, alignment, names unique, types
// known. Any failure is a FormatError naming the file, the field and its byte offset.

import { FormatError, ggmlTypeInfo } from "@llamats/tensor";
import { ByteCursor, type PositionedReader } from "../io/cursor.js";
import { RandomAccessFile } from "../io/file.js";
import { MemoryFile } from "../io/memory.js";
import { readerLimits, type ReaderLimits } from "../limits.js";
import {
  GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MIN_SIZE, GgufValueType, ggufPlain,
  type GgufArray, type GgufKV, type GgufTensorInfo, type GgufValue,
} from "./types.js";

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly kv: readonly GgufKV[];
  /** key -> plain JS value (arrays as JS arrays). */
  readonly metadata: Record<string, unknown>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset of the data section. */
  readonly dataOffset: number;
  tensor(name: string): GgufTensorInfo | undefined;
  /** Bytes of a tensor, read into dst when given (positioned read; nothing else loaded). */
  readTensor(nameOrInfo: string | GgufTensorInfo, dst?: Uint8Array): Uint8Array;
  close(): void;
}

export interface GgufOpenOptions {
  /** Raise or lower the reader's resource limits (see limits.ts). */
  readonly limits?: Partial<ReaderLimits>;
}

const MAX_NESTING = 8;
// The limits in force for the file being parsed (parsing is synchronous: one at a time).
let limits: ReaderLimits = readerLimits();

function readString(c: ByteCursor, field: string): string {
  const at = c.pos;
  const len = c.u64(`${field} length`);
  if (len > limits.maxStringBytes) c.fail(`${field} length`, `string of ${len} bytes exceeds the limit of ${limits.maxStringBytes} (maxStringBytes)`, at);
  if (len > c.bytesLeft) c.fail(`${field} length`, `string of ${len} bytes runs past end of file`, at);
  return c.utf8(len, field);
}

function readScalar(c: ByteCursor, type: number, field: string): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(field);
    case GgufValueType.INT8: return c.i8(field);
    case GgufValueType.UINT16: return c.u16(field);
    case GgufValueType.INT16: return c.i16(field);
    case GgufValueType.UINT32: return c.u32(field);
    case GgufValueType.INT32: return c.i32(field);
    case GgufValueType.FLOAT32: return c.f32(field);
    case GgufValueType.FLOAT64: return c.f64(field);
    case GgufValueType.UINT64: return narrow(c.u64Big(field));
    case GgufValueType.INT64: return narrow(c.i64Big(field));
    case GgufValueType.BOOL: {
      const at = c.pos;
      const b = c.u8(field);
      if (b > 1) c.fail(field, `bool byte is ${b}, not 0 or 1`, at);
      return b === 1;
    }
    case GgufValueType.STRING: return readString(c, field);
    default: return c.fail(field, `unknown value type ${type}`);
  }
}

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readValue(c: ByteCursor, type: number, field: string, depth: number): GgufValue {
  if (type !== GgufValueType.ARRAY) return readScalar(c, type, field);
  if (depth >= MAX_NESTING) c.fail(field, `arrays nested deeper than ${MAX_NESTING}`);
  const typeAt = c.pos;
  const itemType = c.u32(`${field} item type`);
  if (!(itemType in GGUF_MIN_SIZE)) c.fail(`${field} item type`, `unknown value type ${itemType}`, typeAt);
  const countAt = c.pos;
  const count = c.u64(`${field} count`);
  if (count > limits.maxArrayItems) c.fail(`${field} count`, `${count} items exceed the limit of ${limits.maxArrayItems} (maxArrayItems)`, countAt);
  const minBytes = GGUF_MIN_SIZE[itemType as GgufValueType];
  if (count * minBytes > c.bytesLeft) {
    c.fail(`${field} count`, `${count} items of at least ${minBytes} bytes run past end of file`, countAt);
  }
  const items: GgufValue[] = new Array(count);
  for (let i = 0; i < count; i++) items[i] = readValue(c, itemType, `${field}[${i}]`, depth + 1);
  return { itemType: itemType as GgufValueType, items } as GgufArray;
}

export function openGguf(path: string, options: GgufOpenOptions = {}): GgufFile {
  const file = new RandomAccessFile(path);
  try {
    limits = readerLimits(options.limits);
    return parse(file);
  } catch (err) {
    file.close();
    throw err;
  }
}

export interface GgufBytesOptions extends GgufOpenOptions {
  /** The file's size when the bytes are only its beginning (header parsing; tensors then
   *  cannot be read through the returned GgufFile). */
  readonly fileSize?: number;
}

/** A GGUF file already in memory (a browser File read into an ArrayBuffer); `name` labels errors. */
export function openGgufBytes(bytes: Uint8Array, name: string, options: GgufBytesOptions = {}): GgufFile {
  limits = readerLimits(options.limits);
  return parse(new MemoryFile(bytes, name, options.fileSize));
}

function parse(file: PositionedReader): GgufFile {
  const c: ByteCursor = new ByteCursor(file);
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) c.fail("magic", `not a GGUF file (magic 0x${magic.toString(16).padStart(8, "0")})`, 0);
  const version = c.u32("version");
  if (version !== 2 && version !== 3) {
    c.fail("version", version === 1 ? "GGUF v1 is not supported (u32 counts)" : version > 0xffff ? "big-endian GGUF is not supported" : `unsupported version ${version}`, 4);
  }
  const nTensors = c.u64("n_tensors");
  if (nTensors > limits.maxTensors) c.fail("n_tensors", `${nTensors} tensors exceed the limit of ${limits.maxTensors} (maxTensors)`, 8);
  // Each tensor info takes at least 8 (name len) + 4 + 8 + 4 + 8 bytes; each kv at least 8 + 4 + 1.
  if (nTensors * 32 > c.bytesLeft) c.fail("n_tensors", `${nTensors} tensor infos cannot fit in the file`, 8);
  const nKv = c.u64("n_kv");
  if (nKv > limits.maxKv) c.fail("n_kv", `${nKv} key/values exceed the limit of ${limits.maxKv} (maxKv)`, 16);
  if (nKv * 13 > c.bytesLeft) c.fail("n_kv", `${nKv} key/values cannot fit in the file`, 16);

  const kv: GgufKV[] = [];
  const metadata: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = readString(c, `kv[${i}].key`);
    if (key in metadata) c.fail(`kv[${i}].key`, `duplicate key "${key}"`, keyAt);
    const typeAt = c.pos;
    const type = c.u32(`${key} type`);
    if (!(type in GGUF_MIN_SIZE)) c.fail(`${key} type`, `unknown value type ${type}`, typeAt);
    const value = readValue(c, type, key, 0);
    kv.push({ key, type: type as GgufValueType, value });
    metadata[key] = ggufPlain(value);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = kv.find((e) => e.key === "general.alignment");
  if (alignKv) {
    const a = alignKv.value;
    if (alignKv.type !== GgufValueType.UINT32 || typeof a !== "number" || a === 0 || (a & (a - 1)) !== 0) {
      c.fail("general.alignment", `must be a u32 power of two, got ${String(a)}`, 24);
    }
    alignment = a;
  }

  const tensors: GgufTensorInfo[] = [];
  const byName = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const nameAt = c.pos;
    const name = readString(c, `tensor[${i}].name`);
    if (byName.has(name)) c.fail(`tensor[${i}].name`, `duplicate tensor name "${name}"`, nameAt);
    const f = `tensor "${name}"`;
    const dimsAt = c.pos;
    const nDims = c.u32(`${f} n_dims`);
    if (nDims > GGML_MAX_DIMS) c.fail(`${f} n_dims`, `${nDims} dimensions (max ${GGML_MAX_DIMS})`, dimsAt);
    const ne: number[] = [];
    let elems = 1;
    for (let d = 0; d < nDims; d++) {
      const at = c.pos;
      const n = c.u64Big(`${f} ne[${d}]`);
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) c.fail(`${f} ne[${d}]`, `dimension ${n} is too large`, at);
      ne.push(Number(n));
      elems *= Number(n);
      if (elems > limits.maxTensorElements) c.fail(`${f} ne`, `${elems} elements exceed the limit of ${limits.maxTensorElements} (maxTensorElements)`, at);
    }
    const typeAt = c.pos;
    const type = c.u32(`${f} type`);
    const info = ggmlTypeInfo(type);
    if (!info) c.fail(`${f} type`, `unknown ggml type ${type}`, typeAt);
    if ((ne[0] ?? 1) % info.blockSize !== 0) {
      c.fail(`${f} ne[0]`, `row of ${ne[0]} elements is not a multiple of the ${info.name} block size ${info.blockSize}`, dimsAt + 4);
    }
    const offAt = c.pos;
    const offset = c.u64(`${f} offset`);
    if (offset % alignment !== 0) c.fail(`${f} offset`, `offset ${offset} is not a multiple of the alignment ${alignment}`, offAt);
    const byteLength = (elems / info.blockSize) * info.bytesPerBlock;
    const t: GgufTensorInfo = { name, ne, shape: [...ne].reverse(), type, offset, byteLength };
    // Remember where the info sits, for error messages about its data.
    infoOffsets.set(t, offAt);
    tensors.push(t);
    byName.set(name, t);
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  // Data must lie inside the file and tensors must not overlap.
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  let prevEnd = 0;
  let prevName = "";
  for (const t of sorted) {
    const at = infoOffsets.get(t) ?? 0;
    if (t.offset < prevEnd) c.fail(`tensor "${t.name}" offset`, `data overlaps tensor "${prevName}"`, at);
    const end = t.offset + t.byteLength;
    if (dataOffset + end > file.size) {
      c.fail(`tensor "${t.name}" offset`, `data [${dataOffset + t.offset}, ${dataOffset + end}) runs past end of file (size ${file.size})`, at);
    }
    prevEnd = end;
    prevName = t.name;
  }

  return {
    path: file.path, version, kv, metadata, tensors, alignment, dataOffset,
    tensor: (name) => byName.get(name),
    readTensor(nameOrInfo, dst) {
      const t = typeof nameOrInfo === "string" ? byName.get(nameOrInfo) : nameOrInfo;
      if (!t) throw new FormatError(file.path, "tensor", 0, `no tensor named "${String(nameOrInfo)}"`);
      const out = dst ?? new Uint8Array(t.byteLength);
      return file.readInto(out, dataOffset + t.offset, t.byteLength, `tensor "${t.name}" data`);
    },
    close: () => file.close(),
  };
}

const infoOffsets = new WeakMap<GgufTensorInfo, number>();
