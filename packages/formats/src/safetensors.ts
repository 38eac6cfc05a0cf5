// safetensors (Hugging Face): u64 little-endian header length N, N bytes of UTF-8 JSON
// {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {string: string}}, then the data section. Offsets are relative to the
// data section. The format's own rules are enforced: N <= 100 MB, JSON object header
// (trailing spaces allowed), no duplicate keys, known dtypes, end - begin =
// prod(shape) x dtype size, offsets sorted and contiguous from 0 covering the whole data
// section (no holes, no overlap, no trailing bytes). Tensor bytes are read lazily.

import { FormatError, GGMLType, writeAtomically } from "@llamats/tensor";
import { RandomAccessFile } from "./io/file.js";
import { parseStrictJson } from "./io/json.js";
import { readerLimits, type ReaderLimits } from "./limits.js";

export const SAFETENSORS_MAX_HEADER = 100_000_000;

export type SafetensorsDtype =
  | "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8"
  | "BOOL" | "F8_E4M3" | "F8_E5M2";

export const SAFETENSORS_DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

const TO_GGML: Partial<Record<SafetensorsDtype, GGMLType>> = {
  F64: GGMLType.F64, F32: GGMLType.F32, F16: GGMLType.F16, BF16: GGMLType.BF16,
  I64: GGMLType.I64, I32: GGMLType.I32, I16: GGMLType.I16, I8: GGMLType.I8,
};

/** The ggml type of a safetensors dtype, or undefined when ggml has none (U8, BOOL, F8...). */
export function ggmlTypeOfSafetensors(dtype: SafetensorsDtype): GGMLType | undefined {
  return TO_GGML[dtype];
}
/** The safetensors dtype of a ggml type, or undefined for quantised types. */
export function safetensorsDtypeOfGgml(type: number): SafetensorsDtype | undefined {
  for (const [k, v] of Object.entries(TO_GGML)) if (v === type) return k as SafetensorsDtype;
  return undefined;
}

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Relative to the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** In file (offset) order. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  readonly dataOffset: number;
  tensor(name: string): SafetensorsTensorInfo | undefined;
  readTensor(nameOrInfo: string | SafetensorsTensorInfo, dst?: Uint8Array): Uint8Array;
  close(): void;
}

export interface SafetensorsOpenOptions {
  /** Raise or lower the reader's resource limits (see limits.ts). */
  readonly limits?: Partial<ReaderLimits>;
}

export function openSafetensors(path: string, options: SafetensorsOpenOptions = {}): SafetensorsFile {
  const file = new RandomAccessFile(path);
  try {
    return parseSafetensors(file, readerLimits(options.limits));
  } catch (err) {
    file.close();
    throw err;
  }
}

function parseSafetensors(file: RandomAccessFile, limits: ReaderLimits): SafetensorsFile {
  const path = file.path;
  const fail = (field: string, offset: number, detail: string): never => {
    throw new FormatError(path, field, offset, detail);
  };
  if (file.size < 8) fail("header length", 0, `file of ${file.size} bytes is too short`);
  const n = new DataView(file.read(0, 8, "header length").buffer).getBigUint64(0, true);
  const maxHeader = limits.maxHeaderBytes;
  if (n > BigInt(maxHeader)) fail("header length", 0, `header of ${n} bytes exceeds the ${maxHeader}-byte limit (maxHeaderBytes)`);
  const headerLen = Number(n);
  if (8 + headerLen > file.size) fail("header length", 0, `header of ${headerLen} bytes runs past end of file (size ${file.size})`);
  const headerBytes = file.read(8, headerLen, "header");
  if (headerBytes[0] !== 0x7b) fail("header", 8, "header does not start with '{'");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    return fail("header", 8, "header is not valid UTF-8");
  }
  // Offsets in errors are character offsets; exact for the ASCII headers written in practice.
  const json = parseStrictJson(text.replace(/ +$/, ""), { file: path, field: "header", base: 8 });
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("header", 8, "header is not a JSON object");
  const dataOffset = 8 + headerLen;
  const dataSize = file.size - dataOffset;
  const metadata: Record<string, string> = Object.create(null);
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("__metadata__", 8, "must be an object of strings");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k}`, 8, "metadata values must be strings");
        metadata[k] = v as string;
      }
      continue;
    }
    const f = `tensor "${name}"`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(f, 8, "entry is not an object");
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) if (k !== "dtype" && k !== "shape" && k !== "data_offsets") fail(`${f}.${k}`, 8, "unknown field");
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPE_BYTES)) return fail(`${f}.dtype`, 8, `unknown dtype ${JSON.stringify(dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return fail(`${f}.shape`, 8, "shape must be a list of non-negative integers");
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      return fail(`${f}.data_offsets`, 8, "data_offsets must be two non-negative integers");
    }
    const [begin, end] = offs as [number, number];
    let elems = 1;
    for (const d of shape as number[]) {
      elems *= d;
      if (elems > limits.maxTensorElements) fail(`${f}.shape`, 8, `${elems} elements exceed the limit of ${limits.maxTensorElements} (maxTensorElements)`);
    }
    const bytes = elems * SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDtype];
    if (end < begin || end - begin !== bytes) {
      fail(`${f}.data_offsets`, 8, `[${begin}, ${end}) holds ${end - begin} bytes, shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes}`);
    }
    tensors.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
    if (tensors.length > limits.maxTensors) fail("header", 8, `more than ${limits.maxTensors} tensors (maxTensors)`);
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of tensors) {
    if (t.begin !== expected) {
      fail(`tensor "${t.name}".data_offsets`, 8, t.begin < expected ? `overlaps the previous tensor (begins at ${t.begin}, previous ends at ${expected})` : `leaves a hole (begins at ${t.begin}, previous ends at ${expected})`);
    }
    expected = t.end;
  }
  if (expected !== dataSize) {
    fail("data", dataOffset + Math.min(expected, dataSize), expected > dataSize ? `tensors need ${expected} data bytes, file has ${dataSize}` : `${dataSize - expected} trailing bytes after the last tensor`);
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    path, metadata, tensors, dataOffset,
    tensor: (name) => byName.get(name),
    readTensor(nameOrInfo, dst) {
      const t = typeof nameOrInfo === "string" ? byName.get(nameOrInfo) : nameOrInfo;
      if (!t) throw new FormatError(path, "tensor", 0, `no tensor named "${String(nameOrInfo)}"`);
      const len = t.end - t.begin;
      return file.readInto(dst ?? new Uint8Array(len), dataOffset + t.begin, len, `tensor "${t.name}" data`);
    },
    close: () => file.close(),
  };
}

export interface SafetensorsWriteTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array | (() => Uint8Array);
}

/**
 * Write a safetensors file, tensors in the order given (data contiguous in that order),
 * header padded with spaces to a multiple of 8 bytes as the reference implementation does.
 */
export function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsWriteTensor[],
  metadata?: Record<string, string>,
  onProgress?: (done: number, total: number, name: string) => void,
): number {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    if (t.name === "__metadata__" || Object.prototype.hasOwnProperty.call(header, t.name)) {
      throw new TypeError(`safetensors writer: duplicate or reserved tensor name "${t.name}"`);
    }
    const size = t.shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  return writeAtomically(path, (w) => {
    w.write(prefix);
    w.write(json);
    let done = 0;
    tensors.forEach((t, i) => {
      onProgress?.(done, offset, t.name);
      const data = typeof t.data === "function" ? t.data() : t.data;
      if (data.length !== sizes[i]) throw new TypeError(`safetensors writer: "${t.name}" has ${data.length} bytes, needs ${sizes[i]}`);
      w.write(data);
      done += data.length;
    });
    onProgress?.(offset, offset, "");
    return w.position;
  });
}
