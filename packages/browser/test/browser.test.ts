// End-to-end: the demo page in headless Chromium, served by a real `llamats serve
// --browser-demo` on 127.0.0.1, loads a GGUF picked through its <input type="file"> (or from
// the server's /models/ with HTTP range requests) and must give the Node engine's logits bit
// for bit (same reference code, same WebAssembly kernels), on both backends and with 1 and 2
// threads (the page runs the model in a Web Worker, which shares the kernels' rows with more
// Web Workers; Node uses worker_threads), and the same greedy generation on 2 threads as
// `llamats generate --threads 2`. Models: the
// synthetic tiny model (Q4_0 and F16, real tokenizer, random weights) and, when the shared
// fixtures are there, stories260K (llama2.c) converted to GGUF by @llamats/formats.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Page } from "playwright-core";
import { loadModel, writeSyntheticModel } from "@llamats/engine";
import { openModelSource, writeGgufFromSource } from "@llamats/formats";
import { fixturePath, haveFixtures, isCI, repoRoot } from "@llamats/testkit";
import { buildBrowser } from "../src/build.js";
import { describeBrowser, launchBrowser, screenshot, type Browser } from "../../webchat/test/helpers/browser.js";
import { cliFromSource, startBrowserDemo, type DemoServer } from "./helpers/serve-demo.js";

interface DemoWindow {
  llamatsDemo: {
    state: string;
    error?: string;
    /** The page's RemoteModel (the model runs in a Web Worker). */
    model?: {
      loaded: { backend: string };
      info(): Promise<{ backend: string; threads: number; memories: number; poolJobs: number }>;
      forward(ids: number[], o: { logits: "all"; reset: boolean }): Promise<Float32Array>;
      generateIds(ids: number[], o: Record<string, unknown>): AsyncGenerator<number>;
    };
  };
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describeBrowser("browser demo page in Chromium", function (this: Mocha.Suite) {
  this.timeout(300_000);
  let dir: string;
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  const models: { name: string; path: string; ids: number[]; text: boolean }[] = [];

  before(async () => {
    await buildBrowser(); // the page under test is the one in this checkout
    dir = mkdtempSync(join(tmpdir(), "llamats-browser-test-"));
    for (const type of ["q4_0", "f16"]) {
      const path = join(dir, `tiny-${type}.gguf`);
      writeSyntheticModel(path, { shape: "tiny", type, seed: 7 });
      models.push({ name: `synthetic tiny ${type}`, path, ids: [1, 5, 9, 300, 17, 42], text: true });
    }
    if (haveFixtures("stories260K/stories260K.bin")) {
      const path = join(dir, "stories260K.gguf");
      const src = await openModelSource(fixturePath("stories260K/stories260K.bin"), { format: "llama2c" });
      try {
        writeGgufFromSource(src, path);
      } finally {
        src.close();
      }
      models.push({ name: "stories260K (llama2.c -> GGUF)", path, ids: [1, 403, 407, 261, 378], text: false });
    } else if (isCI()) {
      throw new Error("stories260K fixture missing under CI=true");
    }
    server = await startBrowserDemo(dir); // the models are also at /models/NAME, with range requests
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    page = await browser.context.newPage();
    page.setDefaultTimeout(240_000);
    await page.goto(server.pageUrl);
  });
  afterEach(async function () {
    if (page) {
      await screenshot(page, `browser-${this.currentTest?.title ?? "test"}`);
      await page.close();
    }
  });

  async function waitLoaded(): Promise<void> {
    await page.waitForFunction(() => ["ready", "error"].includes((window as unknown as DemoWindow).llamatsDemo.state));
    const err = await page.evaluate(() => (window as unknown as DemoWindow).llamatsDemo.error);
    expect(err, "load error in the page").to.equal(undefined);
    expect(await page.locator("#progress").evaluate((p) => (p as HTMLProgressElement).value)).to.equal(1);
  }

  async function backendName(): Promise<string> {
    return page.evaluate(() => (window as unknown as DemoWindow).llamatsDemo.model!.loaded.backend);
  }

  async function loadInPage(path: string, backend: "ts" | "wasm", threads = 1): Promise<void> {
    await page.goto(server.pageUrl); // a fresh page: one model per load
    await page.selectOption("#backend", backend);
    await page.selectOption("#threads", String(threads));
    await page.setInputFiles("#file", path);
    await waitLoaded();
    expect(await backendName()).to.equal(backend === "ts" ? "reference" : threads === 1 ? "wasm" : `wasm-workers(${threads})`);
  }

  async function logitsInPage(ids: number[]): Promise<number[]> {
    return page.evaluate(async (ids) => {
      const model = (window as unknown as DemoWindow).llamatsDemo.model!;
      const l = await model.forward(ids, { logits: "all", reset: true });
      return Array.from(new Uint32Array(l.buffer, l.byteOffset, l.length));
    }, ids);
  }

  /** The Node engine's logits (bits) for ids. */
  async function nodeLogits(path: string, ids: number[], backend: "ts" | "wasm", threads: number): Promise<number[]> {
    const node = await loadModel(path, { backend, threads });
    try {
      return bits(node.forward(ids, { logits: "all" }));
    } finally {
      node.dispose();
    }
  }

  it("is cross-origin isolated (COOP/COEP from llamats serve)", async () => {
    const res = await fetch(server.pageUrl);
    expect(res.headers.get("cross-origin-opener-policy")).to.equal("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).to.equal("require-corp");
    expect(await page.evaluate(() => crossOriginIsolated)).to.equal(true);
  });

  it("gives the Node engine's logits bit for bit on every model: reference, wasm on 1 thread, wasm on 2 threads (Web Workers)", async function () {
    expect(await page.evaluate(() => navigator.hardwareConcurrency), "the page offers 2 threads").to.be.greaterThanOrEqual(2);
    for (const m of models) {
      for (const [backend, threads] of [["ts", 1], ["wasm", 1], ["wasm", 2]] as const) {
        await loadInPage(m.path, backend, threads);
        const inPage = await logitsInPage(m.ids);
        const want = await nodeLogits(m.path, m.ids, backend, threads);
        expect(inPage.length, `${m.name} ${backend}`).to.equal(want.length);
        expect(want.some((b) => b !== 0), "logits not all zero").to.equal(true);
        const firstDiff = inPage.findIndex((b, i) => b !== want[i]);
        expect(firstDiff, `${m.name} on ${backend} with ${threads} thread(s): first differing logit`).to.equal(-1);
        if (threads === 2) {
          // The same bits as one thread: rows are split, never summed in another order.
          expect(inPage).to.deep.equal(await nodeLogits(m.path, m.ids, backend, 1));
          // A second pass reuses the workers (and the buffers they were sent).
          expect(await logitsInPage(m.ids)).to.deep.equal(inPage);
          // The rows really went through the pool (jobs published to the Web Worker).
          const jobs = await page.evaluate(async () => (await (window as unknown as DemoWindow).llamatsDemo.model!.info()).poolJobs);
          expect(jobs, "pool jobs").to.be.greaterThan(10);
        }
      }
    }
  });

  it("reads a model from the server with HTTP range requests (206), 2 threads, the Node engine's logits", async () => {
    const m = models[0]!;
    const ranges: { status: number; range?: string }[] = [];
    page.on("response", (r) => {
      if (r.url().includes("/models/")) ranges.push({ status: r.status(), range: r.request().headers()["range"] });
    });
    await page.goto(`${server.pageUrl}?header=65536&span=262144`); // small reads: many range requests
    await page.selectOption("#threads", "2");
    await page.fill("#url", `/models/${basename(m.path)}`);
    await page.click("#fetch");
    await waitLoaded();
    expect(await backendName()).to.equal("wasm-workers(2)");
    const size = statSync(m.path).size;
    expect(ranges.length, "range requests (one per span of tensors)").to.be.greaterThan(5);
    for (const r of ranges) {
      expect(r.status).to.equal(206);
      expect(r.range).to.match(/^bytes=\d+-\d+$/);
    }
    expect(await logitsInPage(m.ids)).to.deep.equal(await nodeLogits(m.path, m.ids, "wasm", 2));
    // The server side of it: a range is 206 with Content-Range, a bad one 416, no Range 200.
    const url = `${new URL(server.pageUrl).origin}/models/${basename(m.path)}`;
    const part = await fetch(url, { headers: { range: "bytes=4-11" } });
    expect(part.status).to.equal(206);
    expect(part.headers.get("content-range")).to.equal(`bytes 4-11/${size}`);
    expect(Buffer.from(await part.arrayBuffer())).to.deep.equal(readFileSync(m.path).subarray(4, 12));
    const bad = await fetch(url, { headers: { range: `bytes=${size}-` } });
    expect(bad.status).to.equal(416);
    expect(bad.headers.get("content-range")).to.equal(`bytes */${size}`);
    const whole = await fetch(url);
    expect(whole.status).to.equal(200);
    expect((await whole.arrayBuffer()).byteLength).to.equal(size);
  });

  it("spreads a model over several WebAssembly memories, posted to the Web Workers as they open (2 threads, Node's logits)", async () => {
    const m = models[0]!;
    // 2 MiB memories: the tiny model's weights and KV cache need three (a 7B model needs two of 4 GiB).
    await page.goto(`${server.pageUrl}?memory=${2 << 20}&ctx=256`);
    await page.selectOption("#threads", "2");
    await page.setInputFiles("#file", m.path);
    await waitLoaded();
    expect(await backendName()).to.equal("wasm-workers(2)");
    // The KV cache opens its memory at the first forward, in the middle of the jobs.
    expect(await logitsInPage(m.ids)).to.deep.equal(await nodeLogits(m.path, m.ids, "wasm", 2));
    const memories = await page.evaluate(async () => (await (window as unknown as DemoWindow).llamatsDemo.model!.info()).memories);
    expect(memories, "WebAssembly memories").to.be.greaterThanOrEqual(3);
  });

  it("aborts a generation in the model worker (AbortSignal through RemoteModel), and the model goes on working", async () => {
    const m = models[0]!;
    await loadInPage(m.path, "wasm", 2);
    const r = await page.evaluate(async () => {
      const model = (window as unknown as DemoWindow).llamatsDemo.model! as unknown as {
        generateIds(ids: number[], o: Record<string, unknown>): AsyncGenerator<number>;
        lastStats?: { stopReason: string; generatedTokens: number };
      };
      const ac = new AbortController();
      const ids: number[] = [];
      for await (const id of model.generateIds([1], { maxTokens: 100_000, temperature: 0, signal: ac.signal })) {
        ids.push(id);
        if (ids.length === 3) ac.abort();
      }
      return { n: ids.length, stop: model.lastStats?.stopReason };
    });
    expect(r.stop).to.equal("aborted");
    expect(r.n).to.be.within(3, 64);
    expect(await logitsInPage(m.ids)).to.deep.equal(await nodeLogits(m.path, m.ids, "wasm", 2));
  });

  it("the benchmark page measures pp/tg tok/s in the model worker and on the page's thread", async () => {
    const m = models[0]!;
    type Bench = { state: string; error?: string; result?: { where: string; backend: string; threads: number; pp: number; tg: number; ppTokPerSec: number; tgTokPerSec: number } };
    for (const where of ["worker", "page"]) {
      await page.goto(`${new URL(server.pageUrl).origin}/browser/bench.html?model=/models/${basename(m.path)}&threads=2&pp=8&tg=3&where=${where}`);
      await page.waitForFunction(() => ["done", "error"].includes((window as unknown as { llamatsBench: Bench }).llamatsBench.state));
      const b = await page.evaluate(() => (window as unknown as { llamatsBench: Bench }).llamatsBench);
      expect(b.error, where).to.equal(undefined);
      expect(b.result).to.include({ where, backend: "wasm-workers(2)", threads: 2, pp: 8, tg: 3 });
      expect(b.result!.ppTokPerSec).to.be.greaterThan(0);
      expect(b.result!.tgTokPerSec).to.be.greaterThan(0);
      expect(JSON.parse((await page.textContent("#result")) ?? "{}")).to.deep.equal(b.result);
    }
  });

  it("falls back to one GET when the server ignores Range (progress, then the Node engine's logits)", async () => {
    const m = models[0]!;
    await page.route("**/elsewhere/picked.gguf", (route) => route.fulfill({ path: m.path, contentType: "application/octet-stream" }));
    await page.fill("#url", "/elsewhere/picked.gguf");
    await page.click("#fetch");
    await waitLoaded();
    expect(await logitsInPage(m.ids)).to.deep.equal(await nodeLogits(m.path, m.ids, "wasm", 1));
    // A missing file is one line on the page, not a hang.
    await page.fill("#url", "/models/absent.gguf");
    await page.click("#fetch");
    await page.waitForFunction(() => (window as unknown as DemoWindow).llamatsDemo.state === "error");
    expect(await page.textContent("#status")).to.match(/absent\.gguf: HTTP 404/);
  });

  it("offers one thread when the page is not cross-origin isolated (no COOP/COEP), and the wasm kernels still run", async () => {
    // The same page without the two headers: no SharedArrayBuffer, so no workers.
    await page.route("**/browser/", async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers["cross-origin-opener-policy"];
      delete headers["cross-origin-embedder-policy"];
      await route.fulfill({ response: res, headers });
    });
    await page.goto(server.pageUrl);
    expect(await page.evaluate(() => crossOriginIsolated)).to.equal(false);
    expect(await page.locator("#threads option").allTextContents()).to.deep.equal(["1"]);
    const m = models[0]!;
    // Chromium still lets a non-isolated page create a shared WebAssembly.Memory (it only hides
    // SharedArrayBuffer): the wasm kernels run on one thread.
    await page.setInputFiles("#file", m.path);
    await waitLoaded();
    expect(await backendName()).to.equal("wasm");
    expect(await logitsInPage(m.ids)).to.deep.equal(await nodeLogits(m.path, m.ids, "wasm", 1));
  });

  it("streams the same greedy generation on 2 threads as `llamats generate --threads 2` (text on the UI, ids for stories260K)", async () => {
    for (const m of models) {
      await loadInPage(m.path, "wasm", 2);
      if (m.text) {
        const prompt = "为什么要减少污染，保护环境？";
        await page.fill("#prompt", prompt);
        await page.fill("#maxTokens", "16");
        await page.fill("#temperature", "0");
        await page.click("#generate");
        await page.waitForFunction(() => (window as unknown as DemoWindow).llamatsDemo.state === "ready" && document.getElementById("speed")!.textContent !== "");
        const shown = (await page.textContent("#output")) ?? "";
        const cli = spawnSync(process.execPath, [...cliFromSource, "generate", "-m", m.path, "-p", prompt, "-n", "16", "--temp", "0", "--backend", "wasm", "--threads", "2"], { cwd: repoRoot(), encoding: "utf8" });
        expect(cli.status, cli.stderr).to.equal(0);
        expect(shown.startsWith(prompt)).to.equal(true);
        expect(shown.slice(prompt.length)).to.equal(cli.stdout.replace(/\n$/, ""));
        expect(await page.textContent("#speed")).to.match(/generation: 16 tokens, [\d.]+ tok\/s/);
      } else {
        const ids = await page.evaluate(async (prompt) => {
          const model = (window as unknown as DemoWindow).llamatsDemo.model!;
          const out: number[] = [];
          for await (const id of model.generateIds(prompt, { maxTokens: 24, temperature: 0 })) out.push(id);
          return out;
        }, [1]);
        const cli = spawnSync(process.execPath, [...cliFromSource, "generate", "-m", m.path, "--ids", "1", "-n", "24", "--temp", "0", "--backend", "wasm", "--threads", "2"], { cwd: repoRoot(), encoding: "utf8" });
        expect(cli.status, cli.stderr).to.equal(0);
        expect(ids.join(",")).to.equal(cli.stdout.trim());
        expect(ids.length).to.be.greaterThan(0);
      }
    }
  });
});
