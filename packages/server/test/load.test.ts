// A bounded load test: 32 concurrent streaming requests against --parallel 4. Every reply is
// complete and equal to the same request's reply alone; the decode steps really were batched;
// slots, queue and KV memory are back to their baseline afterwards. Latency and time to first
// token are printed (p50 / p95), not asserted (speed lives in benchmarks/).
import { expect } from "chai";
import type { LlamaModel, StepInfo } from "@llamats/engine";
import { cleanup, serve, sseEvents, tinyModel, type TestServer } from "./helpers.js";

interface Reply {
  text: string;
  finish: string | null;
  done: boolean;
  ttftMs: number;
  totalMs: number;
}

async function stream(url: string, body: object): Promise<Reply> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  expect(r.status).to.equal(200);
  let raw = "";
  let ttftMs = NaN;
  const dec = new TextDecoder();
  for await (const chunk of r.body! as unknown as AsyncIterable<Uint8Array>) { // undici streams are async iterable; the DOM lib does not say so
    raw += dec.decode(chunk, { stream: true });
    if (Number.isNaN(ttftMs) && raw.includes('"text":"') && !raw.includes('"text":""')) ttftMs = performance.now() - t0;
  }
  const events = sseEvents(raw);
  let text = "";
  let finish: string | null = null;
  for (const e of events) {
    if (e === "[DONE]") continue;
    const c = (e as { choices: { text: string; finish_reason: string | null }[] }).choices[0];
    text += c.text;
    finish = c.finish_reason ?? finish;
  }
  return { text, finish, done: events[events.length - 1] === "[DONE]", ttftMs, totalMs: performance.now() - t0 };
}

function pct(xs: number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

describe("server: load (32 concurrent streams, --parallel 4)", function () {
  let model: LlamaModel;
  let srv: TestServer;
  const steps: StepInfo[] = [];
  before(async () => {
    model = await tinyModel();
    srv = await serve(model, { parallel: 4 });
    model.scheduler.onStep = (s) => steps.push(s);
  });
  after(async () => {
    model.scheduler.onStep = undefined;
    await srv?.stop();
    model?.dispose();
    cleanup();
  });

  it("every reply is complete and equals its single-request text; slots and KV memory return to baseline", async () => {
    const requests = Array.from({ length: 32 }, (_, i) => ({
      prompt: `Request ${i}: ${"once upon a time ".repeat(1 + (i % 5))}`,
      max_tokens: 6 + (i % 7),
      temperature: 0,
    }));
    const kvBaseline = model.kvBytes;
    const alone: Reply[] = [];
    for (const r of requests) alone.push(await stream(srv.url, r));
    steps.length = 0;
    const t0 = performance.now();
    const together = await Promise.all(requests.map((r) => stream(srv.url, r)));
    const wallMs = performance.now() - t0;
    together.forEach((got, i) => {
      expect(got.done, `request ${i} ended with [DONE]`).to.equal(true);
      expect(got.finish, `request ${i}`).to.equal("length");
      expect(got.text, `request ${i}`).to.equal(alone[i].text);
    });
    // Decode steps of several sequences ran as one forward, never more than --parallel of them.
    const batched = steps.filter((s) => s.rows.length > 1);
    expect(batched.length).to.be.greaterThan(10);
    expect(Math.max(...steps.map((s) => s.rows.length))).to.be.at.most(4);
    const pool = srv.core.pool!;
    expect(pool.active).to.equal(0);
    expect(pool.queued).to.equal(0);
    expect(model.scheduler.pending).to.equal(0);
    expect(model.kvBytes).to.equal(kvBaseline);
    const tokens = together.reduce((a, _r, i) => a + requests[i].max_tokens, 0);
    const lat = together.map((r) => r.totalMs);
    const ttft = together.map((r) => r.ttftMs);
    console.log(`      32 streams / --parallel 4: ${tokens} tokens in ${wallMs.toFixed(0)} ms (${((tokens * 1000) / wallMs).toFixed(1)} tok/s aggregate); ` +
      `latency p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms; TTFT p50 ${pct(ttft, 50).toFixed(0)} ms, p95 ${pct(ttft, 95).toFixed(0)} ms; ` +
      `${steps.length} steps, ${batched.length} batched (mean ${(steps.reduce((a, s) => a + s.rows.length, 0) / steps.length).toFixed(2)} sequences/step)`);
  });

  it("a full queue answers 503 with Retry-After; the server then serves normally", async () => {
    const small = await serve(model, { parallel: 1, queueSize: 0 });
    try {
      const slow = stream(small.url, { prompt: "x", max_tokens: 40, temperature: 0 });
      while (small.core.pool!.active === 0) await new Promise((r) => setTimeout(r, 2));
      const r = await fetch(`${small.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "y", max_tokens: 1 }) });
      expect(r.status).to.equal(503);
      expect(r.headers.get("retry-after")).to.equal("1");
      expect(((await r.json()) as { error: { code: string } }).error.code).to.equal("server_overloaded");
      expect((await slow).done).to.equal(true);
      const ok = await stream(small.url, { prompt: "y", max_tokens: 1, temperature: 0 });
      expect(ok.done).to.equal(true);
    } finally {
      await small.stop();
    }
  });
});
