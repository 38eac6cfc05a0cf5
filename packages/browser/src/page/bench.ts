// The benchmark page (/browser/bench.html): load a GGUF (a picked file, or a URL read with
// range requests), then measure prompt processing and generation tok/s (speed.ts, the same
// code benchmarks/src/browser.bench.ts runs in Node) with the chosen backend and threads,
// where the demo runs its model (in a model worker, "worker") or on this page's thread
// ("page": the pool's caller then spins instead of blocking).
// Query parameters run it without clicks: ?model=/models/x.gguf&threads=2&pp=64&tg=16
// [&backend=wasm][&where=worker|page]. The result is JSON in #result and on
// window.llamatsBench (for the script).

import { canShareMemory, loadModelFromBlob, loadModelFromUrl, type BrowserBackendName } from "../load.js";
import { loadModelInWorker } from "../remote.js";
import { measureSpeed, type SpeedResult } from "../speed.js";

type Where = "worker" | "page";

interface BenchHandle {
  /** "idle" | "running" | "done" | "error" */
  state: string;
  result?: SpeedResult & { model: string; where: Where; backend: string; threads: number; loadSec: number; crossOriginIsolated: boolean; userAgent: string };
  error?: string;
}
const bench: BenchHandle = { state: "idle" };
(window as unknown as { llamatsBench: BenchHandle }).llamatsBench = bench;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $<HTMLDivElement>("status");
const result = $<HTMLPreElement>("result");
const threadsSelect = $<HTMLSelectElement>("threads");
const cores = canShareMemory() ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
for (let n = 1; n <= cores; n++) threadsSelect.add(new Option(String(n), String(n), false, n === 1));
$<HTMLDivElement>("isolation").textContent = crossOriginIsolated ? `Cross-origin isolated: up to ${cores} threads.` : "Not cross-origin isolated: one thread only.";

async function runBench(from: File | string, where: Where, backend: BrowserBackendName, threads: number, pp: number, tg: number): Promise<void> {
  const name = typeof from === "string" ? from : from.name;
  bench.state = "running";
  bench.error = undefined;
  result.textContent = "";
  status.textContent = `Loading ${name}…`;
  let dispose: (() => void) | undefined;
  try {
    const t0 = performance.now();
    const onProgress = (p: { done: number; total: number }): void => {
      status.textContent = `Loading ${name}: ${(p.done / (1 << 20)).toFixed(1)} / ${(p.total / (1 << 20)).toFixed(1)} MiB`;
    };
    let measure: () => Promise<SpeedResult>;
    let backendName: string;
    let usedThreads: number;
    if (where === "worker") {
      const m = await loadModelInWorker(from, name, { backend, threads, onProgress });
      dispose = () => m.dispose();
      measure = () => m.speed(pp, tg);
      backendName = m.loaded.backend;
      usedThreads = m.loaded.threads;
    } else {
      const m = typeof from === "string" ? await loadModelFromUrl(from, { backend, threads, onProgress }) : await loadModelFromBlob(from, name, { backend, threads, onProgress });
      dispose = () => m.dispose();
      measure = async () => measureSpeed(m, pp, tg);
      backendName = m.backend.name;
      usedThreads = (m.backend as unknown as { threads?: number }).threads ?? 1;
    }
    const loadSec = (performance.now() - t0) / 1000;
    status.textContent = `Measuring pp ${pp}, tg ${tg} on ${backendName} (${where})…`;
    await new Promise((r) => setTimeout(r, 0));
    const speed = await measure();
    bench.result = { model: name, where, backend: backendName, threads: usedThreads, loadSec, crossOriginIsolated, userAgent: navigator.userAgent, ...speed };
    result.textContent = JSON.stringify(bench.result, null, 2);
    status.textContent = `pp ${speed.ppTokPerSec.toFixed(2)} tok/s, tg ${speed.tgTokPerSec.toFixed(2)} tok/s`;
    bench.state = "done";
  } catch (err) {
    bench.error = (err as Error).message;
    status.textContent = `Failed: ${bench.error}`;
    bench.state = "error";
  } finally {
    dispose?.();
  }
}

const num = (id: string): number => Number($<HTMLInputElement>(id).value);
$<HTMLButtonElement>("run").addEventListener("click", () => {
  const file = $<HTMLInputElement>("file").files?.[0];
  const url = $<HTMLInputElement>("url").value.trim();
  const from = file ?? (url || undefined);
  if (from) void runBench(from, $<HTMLSelectElement>("where").value as Where, $<HTMLSelectElement>("backend").value as BrowserBackendName, Number(threadsSelect.value), num("pp"), num("tg"));
});

const q = new URLSearchParams(location.search);
const model = q.get("model");
if (model) {
  const threads = Number(q.get("threads") ?? 1);
  if (threads > cores) {
    bench.state = "error";
    bench.error = `threads ${threads}: this page offers at most ${cores}${crossOriginIsolated ? "" : " (not cross-origin isolated)"}`;
    status.textContent = bench.error;
  } else {
    void runBench(model, q.get("where") === "page" ? "page" : "worker", (q.get("backend") ?? "wasm") as BrowserBackendName, threads, Number(q.get("pp") ?? 64), Number(q.get("tg") ?? 16));
  }
}
