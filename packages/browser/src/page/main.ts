// The demo page: pick a GGUF or give a URL, then stream a generation with the engine's own
// sampler and generate loop, and show tokens/s. The model runs in a dedicated Web Worker
// (model-worker.ts, through remote.ts): the page only sends requests and shows events, so it
// stays responsive while the worker reads the file (in spans straight into the backend's
// memories; a URL with HTTP range requests) and computes. With threads > 1 (cross-origin
// isolated pages only) the kernels' rows are shared with more Web Workers that the model
// worker starts, over the same memories.
// window.llamatsDemo exposes the loaded model (a RemoteModel) to tests (packages/browser/test).

import { canShareMemory } from "../load.js";
import { loadModelInWorker, type RemoteModel } from "../remote.js";
import type { BrowserBackendName } from "../load.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>("file");
const backendSelect = $<HTMLSelectElement>("backend");
const threadsSelect = $<HTMLSelectElement>("threads");
const progress = $<HTMLProgressElement>("progress");
const status = $<HTMLDivElement>("status");
const output = $<HTMLPreElement>("output");
const speed = $<HTMLDivElement>("speed");
const generateButton = $<HTMLButtonElement>("generate");
const stopButton = $<HTMLButtonElement>("stop");

interface DemoHandle {
  model?: RemoteModel;
  /** "idle" | "loading" | "ready" | "generating" | "error" */
  state: string;
  error?: string;
}
const demo: DemoHandle = { state: "idle" };
(window as unknown as { llamatsDemo: DemoHandle }).llamatsDemo = demo;

$<HTMLDivElement>("isolation").textContent = crossOriginIsolated
  ? "Cross-origin isolated: SharedArrayBuffer available."
  : "Not cross-origin isolated (serve with COOP/COEP headers, see docs/BROWSER.md): one thread only (Web Workers need SharedArrayBuffer).";

// Threads: 1 .. the cores the browser reports; without isolation only 1 (no shared memory for workers).
{
  const cores = canShareMemory() ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
  for (let n = 1; n <= cores; n++) threadsSelect.add(new Option(String(n), String(n), false, n === Math.min(cores, 4)));
}

const mib = (n: number): string => (n / (1 << 20)).toFixed(1);
const nextFrame = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function setState(state: string, text: string): void {
  demo.state = state;
  status.textContent = text;
  generateButton.disabled = state !== "ready";
  stopButton.disabled = state !== "generating";
  fileInput.disabled = backendSelect.disabled = threadsSelect.disabled = state === "loading" || state === "generating";
}

/** A picked File, or a URL to download. */
async function load(from: File | string): Promise<void> {
  demo.model?.dispose();
  demo.model = undefined;
  demo.error = undefined;
  const name = typeof from === "string" ? from : from.name;
  setState("loading", `Reading ${name}…`);
  const t0 = performance.now();
  try {
    const backend = backendSelect.value as BrowserBackendName;
    const threads = Number(threadsSelect.value);
    const onProgress = (p: { done: number; total: number; label?: string }): void => {
      progress.value = p.total > 0 ? p.done / p.total : 0;
      status.textContent = `Loading ${name}: ${mib(p.done)}${p.total > 0 ? ` / ${mib(p.total)}` : ""} MiB${p.label === "download" ? " downloaded (the server ignores range requests)" : " of weights"}`;
    };
    // ?header=BYTES&span=BYTES in the page's URL tune the reads (tests use small ones to see many);
    const q = new URLSearchParams(location.search);
    const bytesParam = (k: string): number | undefined => (q.has(k) ? Number(q.get(k)) : undefined);
    // ?memory=BYTES caps each WebAssembly memory (a small model then spreads over several, as
    // one over 4 GiB does), ?ctx=N sets the KV cache size.
    const memory = bytesParam("memory");
    const reads = {
      headerBytes: bytesParam("header"), spanBytes: bytesParam("span"), nCtx: bytesParam("ctx"),
      memory: memory === undefined ? undefined : { maxBytesPerMemory: memory, scratchReserve: Math.floor(memory / 8), initialBytes: 64 << 10 },
    };
    // Read in spans straight into the backend (about 1x the model in memory): a File with
    // Blob.slice(), a URL with HTTP range requests (a whole download if the server ignores them).
    demo.model = await loadModelInWorker(from, name, { backend, threads, ...reads, onProgress });
    progress.value = 1;
    const c = demo.model.config;
    setState("ready", `Loaded ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${c.blockCount} layers, dim ${c.embeddingLength}, vocab ${c.vocabSize}, backend ${demo.model.loaded.backend} in a Web Worker.`);
  } catch (err) {
    demo.error = (err as Error).message;
    setState("error", `Cannot load ${name}: ${demo.error}`);
  }
}

let abort: AbortController | undefined;

async function generate(): Promise<void> {
  const model = demo.model;
  if (!model) return;
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  output.textContent = $<HTMLTextAreaElement>("prompt").value;
  speed.textContent = "";
  setState("generating", "Generating…");
  abort = new AbortController();
  await nextFrame();
  try {
    for await (const piece of model.generate($<HTMLTextAreaElement>("prompt").value, {
      maxTokens: num("maxTokens"), temperature: num("temperature"), topK: num("topK"), topP: num("topP"),
      repeatPenalty: num("repeatPenalty"), seed: num("seed"), signal: abort.signal,
    })) {
      output.textContent += piece;
    }
    const s = model.lastStats;
    if (s) {
      speed.textContent = `prompt: ${s.promptTokens} tokens, ${s.promptTokPerSec.toFixed(1)} tok/s · generation: ${s.generatedTokens} tokens, ${s.genTokPerSec.toFixed(1)} tok/s · stop: ${s.stopReason}`;
    }
    setState("ready", "Done.");
  } catch (err) {
    demo.error = (err as Error).message;
    setState("ready", `Generation failed: ${demo.error}`);
  }
}

fileInput.addEventListener("change", () => {
  const f = fileInput.files?.[0];
  if (f) void load(f);
});
for (const select of [backendSelect, threadsSelect]) {
  select.addEventListener("change", () => {
    const f = fileInput.files?.[0];
    if (f) void load(f);
  });
}
$<HTMLButtonElement>("fetch").addEventListener("click", () => {
  const url = $<HTMLInputElement>("url").value.trim();
  if (url) void load(url);
});
generateButton.addEventListener("click", () => void generate());
stopButton.addEventListener("click", () => abort?.abort());
