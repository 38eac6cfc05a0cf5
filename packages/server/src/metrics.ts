// Counters and gauges for GET /metrics, in Prometheus' text exposition format (0.0.4).

export interface Gauges {
  readonly loaded: boolean;
  readonly slots: number;
  readonly active: number;
  readonly queued: number;
  readonly kvBytes: number;
}

const WINDOW_MS = 10_000;

export class Metrics {
  private readonly requests = new Map<string, number>();
  promptTokens = 0;
  generatedTokens = 0;
  /** (time, tokens) of recent generated tokens, for the tokens/s gauge. */
  private recent: { t: number; n: number }[] = [];

  countRequest(route: string, status: number): void {
    const k = `${route}\u0000${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  addGenerated(n: number, now = performance.now()): void {
    this.generatedTokens += n;
    const last = this.recent[this.recent.length - 1];
    if (last && now - last.t < 100) last.n += n;
    else this.recent.push({ t: now, n });
    this.trim(now);
  }

  /** Generated tokens per second over the last 10 s. */
  tokensPerSecond(now = performance.now()): number {
    this.trim(now);
    const n = this.recent.reduce((a, r) => a + r.n, 0);
    return n / (WINDOW_MS / 1000);
  }

  private trim(now: number): void {
    while (this.recent.length && now - this.recent[0].t > WINDOW_MS) this.recent.shift();
  }

  render(g: Gauges): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
    };
    const reqs: [string, number][] = [...this.requests].sort().map(([k, v]) => {
      const [route, status] = k.split("\u0000");
      return [`{route="${escapeLabel(route)}",status="${status}"}`, v];
    });
    metric("llamats_requests_total", "counter", "HTTP requests by route and status.", reqs);
    metric("llamats_prompt_tokens_total", "counter", "Prompt tokens of completion requests.", [["", this.promptTokens]]);
    metric("llamats_generated_tokens_total", "counter", "Tokens generated.", [["", this.generatedTokens]]);
    metric("llamats_tokens_per_second", "gauge", "Generated tokens per second over the last 10 s.", [["", this.tokensPerSecond()]]);
    metric("llamats_sequences_active", "gauge", "Sequences generating now.", [["", g.active]]);
    metric("llamats_sequences_queued", "gauge", "Choices waiting for a free sequence.", [["", g.queued]]);
    metric("llamats_sequences_slots", "gauge", "Sequences (--parallel).", [["", g.slots]]);
    metric("llamats_kv_cache_bytes", "gauge", "Bytes of KV cache allocated.", [["", g.kvBytes]]);
    metric("llamats_model_loaded", "gauge", "1 once the model is loaded.", [["", g.loaded ? 1 : 0]]);
    return lines.join("\n") + "\n";
  }
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
