// Zip reader for torch.save files (PyTorch >= 1.6 writes a zip through miniz).
//
// Format: local file headers + data, then a central directory, then (always, from torch) a
// zip64 end-of-central-directory record and locator, then the classic end record. Scope:
// what torch writes and any zip of *stored* (uncompressed) entries: we read the central
// directory (zip64 sizes/offsets included), check every entry against its local header, and
// read entry bytes in place, on demand, by positioned reads. Rejected with a FormatError:
// compressed or encrypted entries, multi-disk archives, names with `..`, absolute or
// backslash paths, duplicate names, entries that overlap each other or the directory, and
// any offset or size past the end of the file.

import { FormatError } from "@llamats/tensor";
import { RandomAccessFile } from "../io/file.js";
import { crc32 } from "./crc32.js";

export interface ZipEntry {
  readonly name: string;
  /** Offset of the local file header. */
  readonly headerOffset: number;
  /** Offset of the first data byte. */
  readonly dataOffset: number;
  readonly size: number;
  readonly crc32: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Largest central directory read (torch's hold ~100 bytes per tensor; 7B: ~30 KB). */
const MAX_DIRECTORY_BYTES = 64 << 20;

/** Whether `name` is a relative path made of plain components (no "..", no root). */
export function isSafeEntryName(name: string): boolean {
  if (name.length === 0 || name.includes("\0") || name.includes("\\")) return false;
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return false;
  return name.split("/").every((part) => part !== ".." && part !== ".");
}

export class ZipReader {
  readonly entries: readonly ZipEntry[];
  private readonly byName: Map<string, ZipEntry>;
  private readonly crcChecked = new Set<string>();

  private constructor(
    readonly file: RandomAccessFile,
    entries: ZipEntry[],
    private readonly verifyCrc: boolean,
  ) {
    this.entries = entries;
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  get path(): string {
    return this.file.path;
  }

  static open(path: string, options: { verifyCrc?: boolean } = {}): ZipReader {
    const file = new RandomAccessFile(path);
    try {
      return new ZipReader(file, readDirectory(file), options.verifyCrc ?? false);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /** Bytes [start, start + length) of an entry into dst (or a new buffer). */
  readRange(entry: ZipEntry, start: number, length: number, dst?: Uint8Array): Uint8Array {
    if (start < 0 || length < 0 || start + length > entry.size) {
      throw new FormatError(this.path, entry.name, entry.dataOffset + start,
        `read of ${length} bytes at ${start} is outside the entry's ${entry.size} bytes`);
    }
    const out = dst ?? new Uint8Array(length);
    this.file.readInto(out, entry.dataOffset + start, length, entry.name);
    return out.subarray(0, length);
  }

  /** A whole entry, its CRC-32 checked when the reader was opened with verifyCrc. */
  read(entry: ZipEntry, dst?: Uint8Array): Uint8Array {
    const bytes = this.readRange(entry, 0, entry.size, dst);
    if (this.verifyCrc && !this.crcChecked.has(entry.name)) this.checkCrc(entry, bytes);
    return bytes;
  }

  /** Check an entry's CRC-32 (reads it in 16 MiB pieces when `bytes` is not given). */
  checkCrc(entry: ZipEntry, bytes?: Uint8Array): void {
    let crc: number;
    if (bytes) crc = crc32(bytes);
    else {
      crc = 0;
      const piece = new Uint8Array(Math.min(entry.size, 1 << 24));
      for (let at = 0; at < entry.size; at += piece.length) {
        const n = Math.min(piece.length, entry.size - at);
        crc = crc32(this.readRange(entry, at, n, piece), crc);
      }
    }
    if (crc !== entry.crc32) {
      throw new FormatError(this.path, `${entry.name} crc32`, entry.dataOffset,
        `data has CRC-32 ${hex(crc)}, the directory says ${hex(entry.crc32)}`);
    }
    this.crcChecked.add(entry.name);
  }

  close(): void {
    this.file.close();
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

interface EndRecord {
  entryCount: number;
  cdOffset: number;
  cdSize: number;
  /** Where the end records start: the directory must end at or before it. */
  endStart: number;
}

function readDirectory(file: RandomAccessFile): ZipEntry[] {
  const end = findEndRecord(file);
  const fail: (field: string, offset: number, detail: string) => never = (field, offset, detail) => {
    throw new FormatError(file.path, field, offset, detail);
  };
  if (end.cdOffset + end.cdSize > end.endStart) {
    fail("central directory", end.cdOffset, `directory of ${end.cdSize} bytes runs past its end record at ${end.endStart}`);
  }
  if (end.cdSize > MAX_DIRECTORY_BYTES) {
    fail("central directory", end.cdOffset, `directory of ${end.cdSize} bytes exceeds the ${MAX_DIRECTORY_BYTES}-byte limit`);
  }
  if (end.entryCount * CENTRAL_SIZE > end.cdSize) {
    fail("entry count", end.endStart, `${end.entryCount} entries cannot fit a ${end.cdSize}-byte directory`);
  }
  const cd = file.read(end.cdOffset, end.cdSize, "central directory");
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let p = 0;
  for (let i = 0; i < end.entryCount; i++) {
    const at = end.cdOffset + p;
    if (p + CENTRAL_SIZE > cd.length) fail("central header", at, "directory ends inside an entry");
    if (view.getUint32(p, true) !== SIG_CENTRAL) fail("central header signature", at, "not PK\\x01\\x02");
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const disk = view.getUint16(p + 34, true);
    let headerOffset = view.getUint32(p + 42, true);
    const recLen = CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (p + recLen > cd.length) fail("central header", at, "name/extra/comment run past the directory");
    let name = "";
    try {
      name = decoder.decode(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
    } catch {
      fail("entry name", at + CENTRAL_SIZE, "not valid UTF-8");
    }
    if (!isSafeEntryName(name)) fail("entry name", at + CENTRAL_SIZE, `unsafe or empty name ${JSON.stringify(name)}`);
    if (seen.has(name)) fail("entry name", at + CENTRAL_SIZE, `duplicate entry ${JSON.stringify(name)}`);
    seen.add(name);
    if (flags & 0x1) fail(`${name} flags`, at + 8, "encrypted entries are not supported");
    if (method !== 0) fail(`${name} compression method`, at + 10, `method ${method}: only stored (0) entries are read`);
    // zip64 extra (id 1): the 64-bit values of exactly the fields saturated at 0xFFFFFFFF.
    const extraAt = p + CENTRAL_SIZE + nameLen;
    let zipDisk = disk;
    for (let q = extraAt; q + 4 <= extraAt + extraLen;) {
      const id = view.getUint16(q, true);
      const len = view.getUint16(q + 2, true);
      if (q + 4 + len > extraAt + extraLen) fail(`${name} extra field`, end.cdOffset + q, "runs past the extra area");
      if (id === 0x0001) {
        let r = q + 4;
        const take = (field: string): number => {
          if (r + 8 > q + 4 + len) fail(`${name} zip64 ${field}`, end.cdOffset + r, "zip64 extra field too short");
          const v = view.getBigUint64(r, true);
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${name} zip64 ${field}`, end.cdOffset + r, `value ${v} too large`);
          r += 8;
          return Number(v);
        };
        if (size === 0xffffffff) size = take("size");
        if (compSize === 0xffffffff) compSize = take("compressed size");
        if (headerOffset === 0xffffffff) headerOffset = take("header offset");
        if (zipDisk === 0xffff && r + 4 <= q + 4 + len) zipDisk = view.getUint32(r, true);
      }
      q += 4 + len;
    }
    if (zipDisk !== 0) fail(`${name} disk number`, at + 34, "multi-disk archives are not supported");
    if (compSize !== size) fail(`${name} sizes`, at + 20, `stored entry with compressed size ${compSize} != size ${size}`);
    entries.push(readLocalHeader(file, name, headerOffset, size, crc, end.cdOffset));
    p += recLen;
  }
  checkNoOverlap(file.path, entries);
  return entries;
}

function readLocalHeader(file: RandomAccessFile, name: string, headerOffset: number, size: number,
  crc: number, limit: number): ZipEntry {
  if (headerOffset + LOCAL_SIZE > limit) {
    throw new FormatError(file.path, `${name} local header`, headerOffset, `header offset past the central directory at ${limit}`);
  }
  const h = file.read(headerOffset, LOCAL_SIZE, `${name} local header`);
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (v.getUint32(0, true) !== SIG_LOCAL) {
    throw new FormatError(file.path, `${name} local header signature`, headerOffset, "not PK\\x03\\x04");
  }
  if (v.getUint16(8, true) !== 0) {
    throw new FormatError(file.path, `${name} local compression method`, headerOffset + 8, "local header says compressed");
  }
  const nameLen = v.getUint16(26, true);
  const extraLen = v.getUint16(28, true);
  const dataOffset = headerOffset + LOCAL_SIZE + nameLen + extraLen;
  if (dataOffset + size > limit) {
    throw new FormatError(file.path, `${name} data`, dataOffset, `${size} bytes run past the central directory at ${limit}`);
  }
  const localName = file.read(headerOffset + LOCAL_SIZE, nameLen, `${name} local name`);
  if (new TextDecoder().decode(localName) !== name) {
    throw new FormatError(file.path, `${name} local name`, headerOffset + LOCAL_SIZE, "local header names another file");
  }
  return { name, headerOffset, dataOffset, size, crc32: crc };
}

function checkNoOverlap(path: string, entries: ZipEntry[]): void {
  const sorted = [...entries].sort((a, b) => a.headerOffset - b.headerOffset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev.dataOffset + prev.size > cur.headerOffset) {
      throw new FormatError(path, `${cur.name} local header`, cur.headerOffset,
        `overlaps the data of ${prev.name} (${prev.dataOffset}..${prev.dataOffset + prev.size})`);
    }
  }
}

function findEndRecord(file: RandomAccessFile): EndRecord {
  if (file.size < EOCD_SIZE) {
    throw new FormatError(file.path, "end of central directory", 0, `file of ${file.size} bytes is too short for a zip`);
  }
  const tailLen = Math.min(file.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = file.size - tailLen;
  const tail = file.read(tailStart, tailLen, "end of central directory");
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let e = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tailLen) {
      e = i;
      break;
    }
  }
  if (e < 0) throw new FormatError(file.path, "end of central directory", file.size, "no end record: not a zip file, or truncated");
  const eocdAt = tailStart + e;
  if (tv.getUint16(e + 4, true) !== 0 || tv.getUint16(e + 6, true) !== 0) {
    throw new FormatError(file.path, "disk number", eocdAt + 4, "multi-disk archives are not supported");
  }
  let entryCount = tv.getUint16(e + 10, true);
  let cdSize = tv.getUint32(e + 12, true);
  let cdOffset = tv.getUint32(e + 16, true);
  let endStart = eocdAt;
  // zip64: a locator just before the end record points at the zip64 end record.
  const locAt = eocdAt - 20;
  if (locAt >= 0 && readU32(file, locAt) === SIG_LOCATOR64) {
    const loc = file.read(locAt, 20, "zip64 locator");
    const lv = new DataView(loc.buffer, loc.byteOffset, 20);
    const rec64 = lv.getBigUint64(8, true);
    if (rec64 > BigInt(locAt - 56)) {
      throw new FormatError(file.path, "zip64 end record offset", locAt + 8, `offset ${rec64} is past the locator at ${locAt}`);
    }
    const at = Number(rec64);
    const r = file.read(at, 56, "zip64 end record");
    const rv = new DataView(r.buffer, r.byteOffset, 56);
    if (rv.getUint32(0, true) !== SIG_EOCD64) {
      throw new FormatError(file.path, "zip64 end record signature", at, "not PK\\x06\\x06");
    }
    const big = (off: number, field: string): number => {
      const v = rv.getBigUint64(off, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(file.path, field, at + off, `value ${v} too large`);
      return Number(v);
    };
    entryCount = big(32, "zip64 entry count");
    cdSize = big(40, "zip64 directory size");
    cdOffset = big(48, "zip64 directory offset");
    endStart = at;
  } else if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new FormatError(file.path, "zip64 locator", Math.max(locAt, 0), "end record needs zip64 values but there is no zip64 locator");
  }
  return { entryCount, cdOffset, cdSize, endStart };
}

function readU32(file: RandomAccessFile, at: number): number {
  const b = file.read(at, 4, "signature");
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
