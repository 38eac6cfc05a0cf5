// A progress bar on stderr for long jobs (merge, quantize, convert). It redraws in place on
// a TTY and prints a line every ~10% otherwise (logs stay readable in CI).

import type { Progress } from "@llamats/tensor";

function formatUnits(n: number, unit: string): string {
  if (unit !== "bytes") return `${n} ${unit}`;
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export class ProgressBar {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly start = Date.now();
  private lastDecile = -1;
  private lastDraw = 0;

  constructor(private readonly title: string) {}

  readonly update = (p: Progress): void => {
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const now = Date.now();
    const secs = (now - this.start) / 1000;
    const text = `${this.title} ${(frac * 100).toFixed(1).padStart(5)}% ${formatUnits(p.done, p.unit)}/${formatUnits(p.total, p.unit)} ${secs.toFixed(1)}s${p.label ? " " + p.label : ""}`;
    if (this.tty) {
      if (now - this.lastDraw < 80 && frac < 1) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(frac * width);
      process.stderr.write(`\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      process.stderr.write(`${text}\n`);
    }
  };

  done(): void {
    if (this.tty) process.stderr.write("\n");
  }
}
