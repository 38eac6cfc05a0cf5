// Slots: `parallel` sequences of the model (each with its own KV cache, created once at start,
// so KV memory stays flat), handed to requests one choice at a time. A free slot is picked by
// the longest prefix its cache shares with the new prompt (a chat's next turn reuses the
// previous turns' keys and values), then least recently used. When every slot is busy, up to
// `queueSize` choices wait in arrival order; the next one is refused (the caller answers 503).

import type { LlamaModel, Sequence } from "@llamats/engine";
import { reusablePrefix } from "@llamats/engine";
import { ApiError } from "./errors.js";

export interface Slot {
  readonly index: number;
  readonly seq: Sequence;
  busy: boolean;
  lastUsed: number;
}

interface Waiter {
  readonly resolve: (s: Slot) => void;
  readonly reject: (e: unknown) => void;
}

export class SlotPool {
  readonly slots: Slot[];
  private waiters: Waiter[] = [];
  private clock = 0;

  constructor(model: LlamaModel, n: number, nCtx: number, readonly queueSize: number) {
    this.slots = Array.from({ length: n }, (_, index) => ({ index, seq: model.createSequence({ nCtx }), busy: false, lastUsed: 0 }));
  }

  get active(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Can `choices` more choices be admitted (run now or wait)? */
  canAdmit(choices: number): boolean {
    const free = this.slots.length - this.active;
    return choices - free <= this.queueSize - this.waiters.length;
  }

  /** A free slot (best prefix match for promptIds), or wait for one; rejects if the signal fires first. */
  acquire(promptIds: readonly number[], signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new ApiError(499, "request cancelled"));
    const free = this.slots.filter((s) => !s.busy);
    if (free.length && this.waiters.length === 0) {
      let best = free[0];
      let bestLen = -1;
      for (const s of free) {
        const len = reusablePrefix(s.seq.session.cached, promptIds);
        if (len > bestLen || (len === bestLen && s.lastUsed < best.lastUsed)) {
          best = s;
          bestLen = len;
        }
      }
      return Promise.resolve(this.take(best));
    }
    if (this.waiters.length >= this.queueSize) {
      return Promise.reject(new ApiError(503, "server busy: every sequence is in use and the queue is full; retry later", "overloaded_error", null, "server_overloaded"));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve: (s) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(s);
        },
        reject,
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new ApiError(499, "request cancelled"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  release(slot: Slot): void {
    slot.busy = false;
    const w = this.waiters.shift();
    if (w) w.resolve(this.take(slot));
  }

  /** Refuse everything still waiting (shutdown). */
  rejectWaiting(err: unknown): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(err);
  }

  private take(slot: Slot): Slot {
    slot.busy = true;
    slot.lastUsed = ++this.clock;
    return slot;
  }
}
