// MemoryFile: the PositionedReader over bytes already in memory (an ArrayBuffer from a
// browser File/Blob or a fetch), with the same bounds checks and FormatErrors as
// RandomAccessFile. Reads copy, so callers may keep or drop the source bytes.

import { FormatError } from "@llamats/tensor";
import type { PositionedReader } from "./cursor.js";

export class MemoryFile implements PositionedReader {
  readonly size: number;
  private bytes: Uint8Array | undefined;

  /**
   * `path` names the bytes in errors (a File's name, a URL). `size`: the whole file's size when
   * `bytes` is only its beginning (enough to parse a header; reads past it fail).
   */
  constructor(bytes: Uint8Array, readonly path: string, size: number = bytes.length) {
    this.bytes = bytes;
    this.size = Math.max(size, bytes.length);
  }

  readInto(dst: Uint8Array, offset: number, length: number = dst.length, field = "data"): Uint8Array {
    if (this.bytes === undefined) throw new FormatError(this.path, field, offset, "file is closed");
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError(this.path, field, offset, `${length} bytes past end of file (size ${this.size})`);
    }
    if (offset + length > this.bytes.length) {
      throw new FormatError(this.path, field, offset, `${length} bytes past the first ${this.bytes.length} bytes, the part of the file in memory`);
    }
    if (dst.length < length) throw new RangeError(`destination holds ${dst.length} bytes, need ${length}`);
    dst.set(this.bytes.subarray(offset, offset + length));
    return dst.subarray(0, length);
  }

  read(offset: number, length: number, field = "data"): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError(this.path, field, offset, `${length} bytes past end of file (size ${this.size})`);
    }
    return this.readInto(new Uint8Array(length), offset, length, field);
  }

  /** Drops the reference to the bytes (the caller's buffer can then be collected). */
  close(): void {
    this.bytes = undefined;
  }
}
