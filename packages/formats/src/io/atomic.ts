// Whole-or-nothing output: everything is written to `OUT.tmp-<pid>` and renamed onto OUT
// only when complete, so an interrupted or failed write never leaves a half-written file.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

export class AtomicFileWriter {
  readonly tmpPath: string;
  private fd: number | undefined;
  private written = 0;

  constructor(readonly path: string) {
    this.tmpPath = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.tmpPath, "w");
  }

  get position(): number {
    return this.written;
  }

  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error("AtomicFileWriter: already closed");
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.written += bytes.length;
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const rem = this.written % alignment;
    if (rem !== 0) this.write(new Uint8Array(alignment - rem));
  }

  commit(): void {
    if (this.fd === undefined) throw new Error("AtomicFileWriter: already closed");
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmpPath, this.path);
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmpPath, { force: true });
  }
}

/** Run `body` against a temp file, renamed onto `path` on success and removed on failure. */
export function writeAtomically<T>(path: string, body: (w: AtomicFileWriter) => T): T {
  const w = new AtomicFileWriter(path);
  try {
    const result = body(w);
    w.commit();
    return result;
  } catch (err) {
    w.abort();
    throw err;
  }
}
