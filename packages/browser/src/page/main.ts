// The demo page: pick a GGUF (its header parsed, then each tensor read straight into the
// backend's memories, with progress) or give a URL (downloaded, then copied), then stream a generation with the engine's own sampler and
// generate loop, and show tokens/s. Everything runs on this page's main thread; the engine
// yields between tokens (setImmediate shim), so the page repaints as text arrives.
// window.llamatsDemo exposes the loaded model to tests (packages/browser/test).

import { fetchBytes, loadModelFromBlob, loadModelFromBytes, type BrowserBackendName, type LlamaModel } from "../index.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>("file");
const backendSelect = $<HTMLSelectElement>("backend");
const progress = $<HTMLProgressElement>("progress");
const status = $<HTMLDivElement>("status");
const output = $<HTMLPreElement>("output");
const speed = $<HTMLDivElement>("speed");
const generateButton = $<HTMLButtonElement>("generate");
const stopButton = $<HTMLButtonElement>("stop");

interface DemoHandle {
  model?: LlamaModel;
  /** "idle" | "loading" | "ready" | "generating" | "error" */
  state: string;
  error?: string;
}
const demo: DemoHandle = { state: "idle" };
(window as unknown as { llamatsDemo: DemoHandle }).llamatsDemo = demo;

$<HTMLDivElement>("isolation").textContent = crossOriginIsolated
  ? "Cross-origin isolated: SharedArrayBuffer available."
  : "Not cross-origin isolated (serve with COOP/COEP headers, see docs/BROWSER.md): the WebAssembly kernels need shared memory.";

const mib = (n: number): string => (n / (1 << 20)).toFixed(1);
const nextFrame = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function setState(state: string, text: string): void {
  demo.state = state;
  status.textContent = text;
  generateButton.disabled = state !== "ready";
  stopButton.disabled = state !== "generating";
  fileInput.disabled = backendSelect.disabled = state === "loading" || state === "generating";
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
    const onRead = (p: { done: number; total: number }): void => {
      progress.value = p.total > 0 ? p.done / p.total / 2 : 0;
      status.textContent = `Reading ${name}: ${mib(p.done)}${p.total > 0 ? ` / ${mib(p.total)}` : ""} MiB`;
    };
    const backend = backendSelect.value as BrowserBackendName;
    if (typeof from === "string") {
      let bytes: Uint8Array | undefined = await fetchBytes(from, onRead);
      status.textContent = `Copying weights into the ${backend} backend…`;
      await nextFrame();
      // Copying downloaded bytes is synchronous: the bar shows the download, then jumps to full.
      demo.model = loadModelFromBytes(bytes, name, { backend });
      bytes = undefined; // the weights live in the backend now: let the download go
      void bytes;
    } else {
      // A File is read tensor by tensor straight into the backend (about 1x the model in memory).
      demo.model = await loadModelFromBlob(from, name, {
        backend,
        onProgress: (p) => {
          progress.value = p.done / p.total;
          status.textContent = `Loading ${name}: ${mib(p.done)} / ${mib(p.total)} MiB of weights`;
        },
      });
    }
    progress.value = 1;
    const c = demo.model.config;
    setState("ready", `Loaded ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${c.blockCount} layers, dim ${c.embeddingLength}, vocab ${c.vocabSize}, backend ${demo.model.backend.name}.`);
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
    model.reset();
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
backendSelect.addEventListener("change", () => {
  const f = fileInput.files?.[0];
  if (f) void load(f);
});
$<HTMLButtonElement>("fetch").addEventListener("click", () => {
  const url = $<HTMLInputElement>("url").value.trim();
  if (url) void load(url);
});
generateButton.addEventListener("click", () => void generate());
stopButton.addEventListener("click", () => abort?.abort());
