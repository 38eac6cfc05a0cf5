// Prompt processing and generation speed of one GGUF in headless Chromium (the demo page
// served by `llamats serve --browser-demo`, WebAssembly SIMD kernels on one thread) beside
// Node on the same kernels (@llamats/kernels' WasmBackend, one thread), JSON on stdout.
//   node --conditions=source --import=tsx packages/browser/bench/speed.ts MODEL.gguf [pp=64] [tg=16]
// Same measurement on both sides: forward() of pp prompt tokens in one batch, then tg
// single-token forwards; tok/s = tokens / wall time.

import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { loadModelFromBytes } from "../src/index.js";
import { launchBrowser } from "../../webchat/test/helpers/browser.js";
import { startBrowserDemo } from "../test/helpers/serve-demo.js";

const [path, ppArg, tgArg] = process.argv.slice(2);
if (!path) throw new Error("usage: speed.ts MODEL.gguf [pp] [tg]");
const pp = Number(ppArg ?? 64);
const tg = Number(tgArg ?? 16);

interface ForwardModel { reset(): void; forward(ids: number[]): Float32Array; config: { vocabSize: number } }
function measure(m: ForwardModel, pp: number, tg: number): { ppTokPerSec: number; tgTokPerSec: number } {
  const ids = Array.from({ length: pp }, (_, i) => 1 + ((i * 7919) % (m.config.vocabSize - 1)));
  m.reset();
  const t0 = performance.now();
  m.forward(ids);
  const t1 = performance.now();
  for (let i = 0; i < tg; i++) m.forward([1 + ((i * 104729) % (m.config.vocabSize - 1))]);
  const t2 = performance.now();
  return { ppTokPerSec: (pp * 1000) / (t1 - t0), tgTokPerSec: (tg * 1000) / (t2 - t1) };
}

const node = loadModelFromBytes(readFileSync(path), path, { backend: "wasm" }); // as the page loads it (default nCtx and maxBatch)
measure(node, 8, 2); // warm-up
const nodeResult = measure(node, pp, tg);
node.dispose();

const server = await startBrowserDemo();
const browser = await launchBrowser();
let chromium: { ppTokPerSec: number; tgTokPerSec: number; userAgent: string };
try {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(600_000);
  await page.goto(server.pageUrl);
  await page.setInputFiles("#file", path);
  await page.waitForFunction(() => ["ready", "error"].includes((window as unknown as { llamatsDemo: { state: string } }).llamatsDemo.state));
  chromium = await page.evaluate(`(() => {
    const m = window.llamatsDemo.model;
    if (!m) throw new Error(window.llamatsDemo.error);
    const measure = ${measure.toString()};
    measure(m, 8, 2);
    return { ...measure(m, ${pp}, ${tg}), userAgent: navigator.userAgent };
  })()`);
} finally {
  await browser.close();
  await server.close();
}
process.stdout.write(JSON.stringify({
  model: path, pp, tg, threads: 1, cpu: cpus()[0]?.model, node: { version: process.version, ...nodeResult }, chromium,
  ratio: { pp: chromium.ppTokPerSec / nodeResult.ppTokPerSec, tg: chromium.tgTokPerSec / nodeResult.tgTokPerSec },
}, null, 2) + "\n");
