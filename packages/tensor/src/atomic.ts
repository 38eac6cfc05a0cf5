// Whole-or-nothing output, the one way every llamats writer puts a file or folder on disk:
// the bytes go to `OUT.tmp-<pid>` (a file, or a folder for multi-file outputs) and are
// renamed onto OUT only when complete, so an interrupted or failed write never leaves a
// half-written OUT. Two more rules live here so every writer follows them:
// - missing parent folders of OUT are created (as `mkdir -p`); when that or the write itself
//   fails (a parent is a file, no permission, disk full) the error is a LlamatsError naming
//   OUT (the CLI prints one line and exits 2);
// - a `OUT.tmp-<pid>` (or `OUT.stage-<pid>`) left by a process that no longer runs (killed
//   with SIGKILL, power loss) is removed by the next write to the same OUT.
// Ctrl-C / SIGTERM during a long synchronous write is the CLI's job (supervise.ts): the
// supervising parent removes tempPathsFor(OUT, childPid).

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { LlamatsError } from "./errors.js";
import { writeBehind } from "./write-behind.js";

/** The file-system operations the atomic writers make, as named to a fault hook. */
export type AtomicFsOp = "mkdir" | "open" | "write" | "fsync" | "close" | "rename";

/** Called before each operation on `path`; it may throw (an injected EIO or ENOSPC). */
export type AtomicFaultHook = (op: AtomicFsOp, path: string) => void;

let faultHook: AtomicFaultHook | undefined;

/**
 * Test seam: run `hook` before every file-system operation of the atomic writers (every
 * llamats writer goes through them), so a test can make the Nth write, fsync or rename fail
 * with EIO / ENOSPC without a broken disk or patching node:fs. `undefined` removes it.
 * Returns the previous hook.
 */
export function setAtomicFaultHook(hook: AtomicFaultHook | undefined): AtomicFaultHook | undefined {
  const prev = faultHook;
  faultHook = hook;
  return prev;
}

/** The temp path a process writes OUT through. */
export function tempPathFor(path: string, pid = process.pid): string {
  return `${path}.tmp-${pid}`;
}

/** Every temp path a writer in process `pid` may create for OUT (what a supervisor removes). */
export function tempPathsFor(path: string, pid: number): string[] {
  const abs = resolve(path);
  return [`${abs}.tmp-${pid}`, `${abs}.stage-${pid}`];
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

/** Remove `OUT.tmp-<pid>` / `OUT.stage-<pid>` siblings of OUT whose process is gone. */
export function removeStaleTemps(path: string): string[] {
  const abs = resolve(path);
  const base = basename(abs);
  let names: string[];
  try {
    names = readdirSync(dirname(abs));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(base + ".")) continue;
    const m = /^\.(?:tmp|stage)-(\d+)$/.exec(n.slice(base.length));
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(join(dirname(abs), n), { recursive: true, force: true });
    removed.push(join(dirname(abs), n));
  }
  return removed;
}

/** Wrap a file-system error as a one-line LlamatsError naming the output. */
export function outputError(path: string, e: unknown): LlamatsError {
  if (e instanceof LlamatsError) return e;
  const err = e as NodeJS.ErrnoException;
  const why = err.code === "ENOTDIR" || err.code === "EEXIST" ? "a parent of it is not a folder"
    : err.code === "EACCES" || err.code === "EPERM" ? "permission denied"
      : err.code === "ENOSPC" ? "no space left on the device"
        : err.code === "EISDIR" ? "it is a folder"
          : err.code === "EIO" ? "input/output error (EIO)" : (err.message ?? String(e));
  return new LlamatsError(`cannot write ${path}: ${why}`, { cause: e });
}

/** A file-system error (has an errno code), as opposed to a bug or a typed error. */
function isFsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string";
}

/** Make OUT's parent folder (mkdir -p) and clear stale temps of dead processes. */
export function prepareOutput(path: string): void {
  try {
    faultHook?.("mkdir", dirname(resolve(path)));
    mkdirSync(dirname(resolve(path)), { recursive: true });
  } catch (e) {
    throw outputError(path, e);
  }
  removeStaleTemps(path);
}

export class AtomicFileWriter {
  readonly tmpPath: string;
  private fd: number | undefined;
  private written = 0;

  constructor(readonly path: string) {
    prepareOutput(path);
    this.tmpPath = tempPathFor(path);
    try {
      faultHook?.("open", this.tmpPath);
      this.fd = openSync(this.tmpPath, "w");
    } catch (e) {
      throw outputError(path, e);
    }
  }

  get position(): number {
    return this.written;
  }

  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error("AtomicFileWriter: already closed");
    const behind = writeBehind();
    if (behind) {
      // queued (copied) for the write-behind thread; an earlier queued write's failure shows here
      this.throwIfFailed();
      try {
        faultHook?.("write", this.tmpPath);
      } catch (e) {
        throw outputError(this.path, e);
      }
      behind.write(this.fd, bytes);
      this.written += bytes.length;
      return;
    }
    let done = 0;
    try {
      while (done < bytes.length) {
        faultHook?.("write", this.tmpPath);
        done += writeSync(this.fd, bytes, done, bytes.length - done);
      }
    } catch (e) {
      throw outputError(this.path, e);
    }
    this.written += bytes.length;
  }

  private throwIfFailed(): void {
    const failed = this.fd === undefined ? undefined : writeBehind()?.failure(this.fd);
    if (failed) throw outputError(this.path, failed);
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const rem = this.written % alignment;
    if (rem !== 0) this.write(new Uint8Array(alignment - rem));
  }

  commit(): void {
    if (this.fd === undefined) throw new Error("AtomicFileWriter: already closed");
    writeBehind()?.drain();
    this.throwIfFailed();
    try {
      faultHook?.("fsync", this.tmpPath);
      fsyncSync(this.fd);
      faultHook?.("close", this.tmpPath);
      const fd = this.fd;
      this.fd = undefined; // closed (or lost) from here on: close(2) is never retried
      closeSync(fd);
      faultHook?.("rename", this.path);
      renameSync(this.tmpPath, this.path);
    } catch (e) {
      throw outputError(this.path, e);
    }
  }

  /** Close and remove the temp file; never throws (it runs while another error propagates). */
  abort(): void {
    const fd = this.fd;
    if (fd !== undefined) {
      // queued writes of this file finish (or fail) before it is closed; its failure is forgotten
      const behind = writeBehind();
      behind?.drain();
      behind?.clear(fd);
    }
    this.fd = undefined;
    try {
      if (fd !== undefined) closeSync(fd);
    } catch { /* the write already failed; the temp goes below */ }
    try {
      rmSync(this.tmpPath, { force: true });
    } catch { /* nothing more to do; the next write to this OUT removes it (stale temp) */ }
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

/** Write `data` to `path` whole or not at all. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeAtomically(path, (w) => w.write(typeof data === "string" ? new TextEncoder().encode(data) : data));
}

/**
 * Build a folder output in `OUT.tmp-<pid>` (passed to `body`), renamed onto `dir` when
 * complete. `dir` must not exist, or be an empty folder (replaced).
 */
export function writeDirAtomically<T>(dir: string, body: (tmpDir: string) => T): T {
  prepareOutput(dir);
  const tmp = tempPathFor(dir);
  rmSync(tmp, { recursive: true, force: true });
  try {
    faultHook?.("mkdir", tmp);
    mkdirSync(tmp);
  } catch (e) {
    throw outputError(dir, e);
  }
  try {
    const result = body(tmp);
    try {
      rmdirSync(dir); // an empty folder left by the caller's check; anything else fails the rename
    } catch {
      /* absent, or not empty: the rename below reports it */
    }
    try {
      faultHook?.("rename", dir);
      renameSync(tmp, dir);
    } catch (e) {
      throw outputError(dir, e);
    }
    return result;
  } catch (err) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch { /* the next write to this OUT removes it (stale temp) */ }
    // A plain file-system error from writing a file inside the folder: typed, naming OUT
    // (an error naming another path, e.g. an input that cannot be read, passes as it is).
    const errPath = (err as NodeJS.ErrnoException).path;
    throw isFsError(err) && (errPath === undefined || resolve(errPath).startsWith(resolve(tmp))) ? outputError(dir, err) : err;
  }
}
