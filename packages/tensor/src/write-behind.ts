// Write-behind for AtomicFileWriter: while write-behind is on, write() copies the bytes into
// one of a few shared slots and returns; one worker thread writes the slots to their files in
// the order they were queued (so each file's bytes stay in order, whatever mix of files), and
// the caller goes on computing the next bytes meanwhile. A full queue makes write() wait for
// the oldest slot. commit()/abort() drain the queue before fsync/close. A failed write is
// remembered with its file descriptor: that file's next write, commit or drain throws it.
// The worker is plain JavaScript (eval'd, node:fs only), so it loads the same from sources
// and from dist.

import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const ctl = new Int32Array(workerData.ctl);
const slots = workerData.slots.map((s) => new Uint8Array(s));
const err = new Uint8Array(workerData.err);
const F = workerData.nSlots; // failed descriptors: ctl[F + 1 ..], -1 where free
const failed = (fd) => { for (let i = 1; i <= workerData.maxFailed; i++) if (ctl[F + i] === fd) return true; return false; };
parentPort.on("message", (m) => {
  const { fd, slot, len } = m;
  if (!failed(fd)) {
    try {
      let done = 0;
      while (done < len) done += writeSync(fd, slots[slot], done, len - done);
    } catch (e) {
      if (Atomics.load(ctl, F) === 0) {
        const text = new TextEncoder().encode(JSON.stringify({ code: e.code, message: String(e.message) })).subarray(0, err.length);
        err.fill(0); err.set(text);
      }
      Atomics.add(ctl, F, 1);
      for (let i = 1; i <= workerData.maxFailed; i++) if (ctl[F + i] === -1) { ctl[F + i] = fd; break; }
    }
  }
  Atomics.store(ctl, slot, 0);
  Atomics.notify(ctl, slot);
});
`;

export interface WriteBehindOptions {
  /** Bytes per slot (default 16 MiB). */
  slotBytes?: number;
  /** Slots (default 8: 128 MiB of writes in flight at most). */
  slots?: number;
}

/** A write that failed on the worker: the errno code and message, for outputError. */
export class WriteBehindError extends Error {
  constructor(readonly code: string | undefined, message: string) {
    super(message);
  }
}

/** Descriptors whose failure is remembered at once (more fail as the first did, unnamed). */
const MAX_FAILED = 16;

class WriteBehind {
  private readonly worker: Worker;
  // per slot: 1 queued, 0 free; then how many writes failed, then the failed descriptors (-1: none)
  private readonly ctl: Int32Array;
  private readonly slots: Uint8Array[];
  private readonly err: Uint8Array;
  private next = 0;

  constructor(readonly slotBytes: number, nSlots: number) {
    const ctl = new SharedArrayBuffer(4 * (nSlots + 1 + MAX_FAILED));
    const slots = Array.from({ length: nSlots }, () => new SharedArrayBuffer(slotBytes));
    const err = new SharedArrayBuffer(1024);
    this.ctl = new Int32Array(ctl);
    this.ctl.fill(-1, nSlots + 1);
    this.slots = slots.map((s) => new Uint8Array(s));
    this.err = new Uint8Array(err);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ctl, slots, err, nSlots, maxFailed: MAX_FAILED }, name: "llamats write-behind" });
    this.worker.unref(); // never keeps the process alive: every queued write is drained by its writer
  }

  private failedAt(fd: number): number {
    const n = this.slots.length;
    for (let i = 1; i <= MAX_FAILED; i++) if (Atomics.load(this.ctl, n + i) === fd) return n + i;
    return -1;
  }

  /** The error of a failed write to fd, if any (with more failures than MAX_FAILED: of any). */
  failure(fd: number): WriteBehindError | undefined {
    const n = this.slots.length;
    const count = Atomics.load(this.ctl, n);
    if (count === 0 || (this.failedAt(fd) < 0 && count <= MAX_FAILED)) return undefined;
    const end = this.err.indexOf(0);
    const text = new TextDecoder().decode(this.err.slice(0, end >= 0 ? end : this.err.length));
    let parsed: { code?: string; message?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      /* a truncated message */
    }
    return new WriteBehindError(parsed.code, parsed.message ?? text);
  }

  /** Forget fd's failure (its file was aborted and drained; the number may be reused). */
  clear(fd: number): void {
    const at = this.failedAt(fd);
    if (at < 0) return;
    Atomics.store(this.ctl, at, -1);
    Atomics.sub(this.ctl, this.slots.length, 1);
  }

  private waitFree(slot: number): void {
    while (Atomics.load(this.ctl, slot) !== 0) Atomics.wait(this.ctl, slot, 1, 1000);
  }

  /** Queue bytes for fd (copied: the caller may reuse them at once). */
  write(fd: number, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += this.slotBytes) {
      const len = Math.min(this.slotBytes, bytes.length - at);
      const slot = this.next;
      this.waitFree(slot);
      this.slots[slot]!.set(bytes.subarray(at, at + len));
      Atomics.store(this.ctl, slot, 1);
      this.worker.postMessage({ fd, slot, len });
      this.next = (slot + 1) % this.slots.length;
    }
  }

  /** Wait until every queued write is on its file. */
  drain(): void {
    for (let s = 0; s < this.slots.length; s++) this.waitFree(s);
  }

  stop(): void {
    this.drain();
    void this.worker.terminate();
  }
}

let active: WriteBehind | undefined;

/**
 * Turn write-behind on (a worker thread writes AtomicFileWriter's bytes while the caller goes
 * on) or off (`false`: drain and stop the worker). Long outputs built tensor by tensor
 * (merge) overlap their writes with the next tensor's work this way.
 */
export function setWriteBehind(on: boolean | WriteBehindOptions): void {
  if (!on) {
    active?.stop();
    active = undefined;
    return;
  }
  if (active) return;
  const o = on === true ? {} : on;
  active = new WriteBehind(o.slotBytes ?? 16 << 20, o.slots ?? 8);
}

/** The write-behind queue in effect, if any (AtomicFileWriter's). */
export function writeBehind(): { write(fd: number, bytes: Uint8Array): void; drain(): void; failure(fd: number): WriteBehindError | undefined; clear(fd: number): void } | undefined {
  return active;
}
