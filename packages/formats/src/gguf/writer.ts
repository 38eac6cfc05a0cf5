// GGUF writer (format: see types.ts). Writes version 3 by default; metadata keeps the exact
// value types it is given. Tensor data is streamed: each tensor's bytes are either given or
// produced on demand by a function, written, and dropped, so a model never has to be held in
// memory whole. Output goes to OUT.tmp-<pid> and is renamed onto OUT when complete.

import { ggmlTypeInfo, writeAtomically, type ProgressCallback } from "@llamats/tensor";
import { ByteBuilder } from "../io/bytes.js";
import {
  GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType,
  type GgufArray, type GgufKV, type GgufValue,
} from "./types.js";

export interface GgufWriteTensor {
  readonly name: string;
  readonly type: number;
  /** Row-major, outer first (rows, cols); written to the file as ne = reversed. */
  readonly shape: readonly number[];
  /** The bytes, or a function producing them when the writer reaches this tensor. */
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface GgufWriteOptions {
  readonly kv: readonly GgufKV[];
  readonly tensors: readonly GgufWriteTensor[];
  readonly version?: 2 | 3;
  readonly onProgress?: ProgressCallback;
}

const INT_RANGES: Partial<Record<GgufValueType, [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};

function badValue(key: string, type: number, v: unknown): never {
  throw new TypeError(`GGUF writer: value of "${key}" (${String(v)}) does not fit type ${type}`);
}

function writeString(b: ByteBuilder, s: string): void {
  const bytes = new TextEncoder().encode(s);
  b.u64(bytes.length);
  b.bytes(bytes);
}

function writeValue(b: ByteBuilder, key: string, type: GgufValueType, v: GgufValue): void {
  const range = INT_RANGES[type];
  if (range) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) badValue(key, type, v);
  }
  switch (type) {
    case GgufValueType.UINT8: return b.u8(v as number);
    case GgufValueType.INT8: return b.i8(v as number);
    case GgufValueType.UINT16: return b.u16(v as number);
    case GgufValueType.INT16: return b.i16(v as number);
    case GgufValueType.UINT32: return b.u32(v as number);
    case GgufValueType.INT32: return b.i32(v as number);
    case GgufValueType.FLOAT32:
      if (typeof v !== "number") badValue(key, type, v);
      return b.f32(v);
    case GgufValueType.FLOAT64:
      if (typeof v !== "number") badValue(key, type, v);
      return b.f64(v);
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof v !== "bigint" && !(typeof v === "number" && Number.isInteger(v))) badValue(key, type, v);
      const big = BigInt(v);
      if (type === GgufValueType.UINT64 ? big < 0n || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n) badValue(key, type, v);
      return type === GgufValueType.UINT64 ? b.u64(big) : b.i64(big);
    }
    case GgufValueType.BOOL:
      if (typeof v !== "boolean") badValue(key, type, v);
      return b.u8(v ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof v !== "string") badValue(key, type, v);
      return writeString(b, v);
    case GgufValueType.ARRAY: {
      const arr = v as GgufArray;
      if (typeof arr !== "object" || arr === null || !("itemType" in arr)) badValue(key, type, v);
      b.u32(arr.itemType);
      b.u64(arr.items.length);
      for (const item of arr.items) writeValue(b, key, arr.itemType, item);
      return;
    }
    default:
      badValue(key, type, v);
  }
}

/** The header bytes (up to, not including, the alignment padding) and each tensor's offset. */
export function encodeGgufHeader(opts: Pick<GgufWriteOptions, "kv" | "tensors" | "version">): { header: Uint8Array; offsets: number[]; alignment: number; sizes: number[] } {
  const alignKv = opts.kv.find((e) => e.key === "general.alignment");
  const alignment = alignKv ? Number(alignKv.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new TypeError(`GGUF writer: general.alignment ${alignment} is not a power of two`);
  }
  const keys = new Set<string>();
  const b = new ByteBuilder();
  b.u32(GGUF_MAGIC);
  b.u32(opts.version ?? 3);
  b.u64(opts.tensors.length);
  b.u64(opts.kv.length);
  for (const e of opts.kv) {
    if (keys.has(e.key)) throw new TypeError(`GGUF writer: duplicate key "${e.key}"`);
    keys.add(e.key);
    writeString(b, e.key);
    b.u32(e.type);
    writeValue(b, e.key, e.type, e.value);
  }
  const names = new Set<string>();
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of opts.tensors) {
    if (names.has(t.name)) throw new TypeError(`GGUF writer: duplicate tensor "${t.name}"`);
    names.add(t.name);
    const info = ggmlTypeInfo(t.type);
    if (!info) throw new TypeError(`GGUF writer: tensor "${t.name}" has unknown ggml type ${t.type}`);
    if (t.shape.length > GGML_MAX_DIMS) throw new TypeError(`GGUF writer: tensor "${t.name}" has ${t.shape.length} dims`);
    const ne = [...t.shape].reverse();
    const elems = ne.reduce((a, n) => a * n, 1);
    if ((ne[0] ?? 1) % info.blockSize !== 0) {
      throw new TypeError(`GGUF writer: tensor "${t.name}" row of ${ne[0]} is not a multiple of ${info.blockSize}`);
    }
    const size = (elems / info.blockSize) * info.bytesPerBlock;
    writeString(b, t.name);
    b.u32(ne.length);
    for (const n of ne) b.u64(n);
    b.u32(t.type);
    b.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset += Math.ceil(size / alignment) * alignment;
  }
  return { header: b.finish(), offsets, alignment, sizes };
}

/** Write a GGUF file. Returns the number of bytes written. */
export function writeGguf(path: string, opts: GgufWriteOptions): number {
  const { header, alignment, sizes } = encodeGgufHeader(opts);
  const total = sizes.reduce((a, s) => a + s, 0);
  return writeAtomically(path, (w) => {
    w.write(header);
    // llama.cpp pads the data section's start only when there is data (a vocabulary-only
    // file ends right after its metadata); matching it keeps copies byte-identical.
    if (opts.tensors.length > 0) w.pad(alignment);
    let done = 0;
    opts.tensors.forEach((t, i) => {
      opts.onProgress?.({ done, total, unit: "bytes", label: t.name });
      const data = typeof t.data === "function" ? t.data() : t.data;
      if (data.length !== sizes[i]) {
        throw new TypeError(`GGUF writer: tensor "${t.name}" has ${data.length} bytes, its shape and type need ${sizes[i]}`);
      }
      w.write(data);
      w.pad(alignment);
      done += data.length;
    });
    opts.onProgress?.({ done: total, total, unit: "bytes" });
    return w.position;
  });
}

/** Shorthands for typed metadata entries. */
export const gguf = {
  u32: (key: string, value: number): GgufKV => ({ key, type: GgufValueType.UINT32, value }),
  i32: (key: string, value: number): GgufKV => ({ key, type: GgufValueType.INT32, value }),
  f32: (key: string, value: number): GgufKV => ({ key, type: GgufValueType.FLOAT32, value }),
  bool: (key: string, value: boolean): GgufKV => ({ key, type: GgufValueType.BOOL, value }),
  str: (key: string, value: string): GgufKV => ({ key, type: GgufValueType.STRING, value }),
  array: (key: string, itemType: GgufValueType, items: readonly (number | string | boolean | bigint)[]): GgufKV =>
    ({ key, type: GgufValueType.ARRAY, value: { itemType, items } }),
};

