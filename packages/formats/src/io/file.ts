// Positioned, synchronous reads of a file that may be much larger than memory. Readers
// open a file, parse their header through a ByteCursor (which pulls the file in windows
// and checks every length against the bytes left before it allocates anything), and read
// tensor bytes on demand into a caller-provided buffer.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError } from "@llamats/tensor";
import type { PositionedReader } from "./cursor.js";

export { ByteCursor, type PositionedReader } from "./cursor.js";

export class RandomAccessFile implements PositionedReader {
  readonly size: number;
  private fd: number | undefined;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, "r");
    } catch (err) {
      throw new FormatError(path, "file", 0, `cannot open: ${(err as Error).message}`);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new FormatError(path, "file", 0, "not a regular file");
    }
    this.size = st.size;
  }

  /** Fill dst[0 .. length) with the file's bytes [offset, offset + length). */
  readInto(dst: Uint8Array, offset: number, length: number = dst.length, field = "data"): Uint8Array {
    if (this.fd === undefined) throw new FormatError(this.path, field, offset, "file is closed");
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError(this.path, field, offset, `${length} bytes past end of file (size ${this.size})`);
    }
    if (dst.length < length) throw new RangeError(`destination holds ${dst.length} bytes, need ${length}`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, dst, done, Math.min(length - done, 1 << 30), offset + done);
      if (n <= 0) throw new FormatError(this.path, field, offset + done, "unexpected end of file");
      done += n;
    }
    return dst.subarray(0, length);
  }

  read(offset: number, length: number, field = "data"): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FormatError(this.path, field, offset, `${length} bytes past end of file (size ${this.size})`);
    }
    return this.readInto(new Uint8Array(length), offset, length, field);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
