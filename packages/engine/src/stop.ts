// Stop strings over streamed text: text that could still turn out to be the beginning of a
// stop string is held back until the next pieces decide, so the caller never sees any part
// of a stop string, and never sees text after one.

export class StopStringMatcher {
  private pending = "";
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Feed a piece; returns the text that is now safe to emit. */
  push(piece: string): string {
    if (this.stopped) return "";
    this.pending += piece;
    let cut = -1;
    for (const s of this.stops) {
      if (s === "") continue;
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = "";
      return out;
    }
    const hold = this.heldSuffixLength();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** End of generation: whatever is held back is not a stop string after all. */
  flush(): string {
    const out = this.stopped ? "" : this.pending;
    this.pending = "";
    return out;
  }

  /** Length of the longest suffix of `pending` that is a proper prefix of some stop string. */
  private heldSuffixLength(): number {
    let best = 0;
    for (const s of this.stops) {
      const max = Math.min(s.length - 1, this.pending.length);
      for (let n = max; n > best; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
