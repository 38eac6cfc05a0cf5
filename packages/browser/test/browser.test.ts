// End-to-end: the demo page in headless Chromium, served by a real `llamats serve
// --browser-demo` on 127.0.0.1, loads a GGUF picked through its <input type="file"> and must
// give the Node engine's logits bit for bit (same reference code, same WebAssembly kernels),
// on both backends, and the same greedy generation as `llamats generate`. Models: the
// synthetic tiny model (Q4_0 and F16, real tokenizer, random weights) and, when the shared
// fixtures are there, stories260K (llama2.c) converted to GGUF by @llamats/formats.

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    model?: {
      reset(): void;
      forward(ids: number[], o: { logits: "all" }): Float32Array;
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
    server = await startBrowserDemo();
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

  async function loadInPage(path: string, backend: "ts" | "wasm"): Promise<void> {
    await page.goto(server.pageUrl); // a fresh page: one model per load
    await page.selectOption("#backend", backend);
    await page.setInputFiles("#file", path);
    await page.waitForFunction(() => ["ready", "error"].includes((window as unknown as DemoWindow).llamatsDemo.state));
    const err = await page.evaluate(() => (window as unknown as DemoWindow).llamatsDemo.error);
    expect(err, "load error in the page").to.equal(undefined);
    expect(await page.locator("#progress").evaluate((p) => (p as HTMLProgressElement).value)).to.equal(1);
    const name = await page.evaluate(() => (window as unknown as { llamatsDemo: { model: { backend: { name: string } } } }).llamatsDemo.model.backend.name);
    expect(name).to.equal(backend === "ts" ? "reference" : "wasm");
  }

  it("is cross-origin isolated (COOP/COEP from llamats serve)", async () => {
    const res = await fetch(server.pageUrl);
    expect(res.headers.get("cross-origin-opener-policy")).to.equal("same-origin");
    expect(res.headers.get("cross-origin-embedder-policy")).to.equal("require-corp");
    expect(await page.evaluate(() => crossOriginIsolated)).to.equal(true);
  });

  it("gives the Node engine's logits bit for bit on every model, reference and wasm backends", async function () {
    for (const m of models) {
      for (const backend of ["ts", "wasm"] as const) {
        await loadInPage(m.path, backend);
        const inPage = await page.evaluate((ids) => {
          const model = (window as unknown as DemoWindow).llamatsDemo.model!;
          model.reset();
          const l = model.forward(ids, { logits: "all" });
          return Array.from(new Uint32Array(l.buffer, l.byteOffset, l.length));
        }, m.ids);
        const node = await loadModel(m.path, { backend, threads: 1 });
        try {
          const want = bits(node.forward(m.ids, { logits: "all" }));
          expect(inPage.length, `${m.name} ${backend}`).to.equal(want.length);
          expect(want.some((b) => b !== 0), "logits not all zero").to.equal(true);
          const firstDiff = inPage.findIndex((b, i) => b !== want[i]);
          expect(firstDiff, `${m.name} on ${backend}: first differing logit`).to.equal(-1);
        } finally {
          node.dispose();
        }
      }
    }
  });

  it("downloads a GGUF from a same-origin URL (progress, then the Node engine's logits)", async () => {
    const m = models[0]!;
    await page.route("**/models/picked.gguf", (route) => route.fulfill({ path: m.path, contentType: "application/octet-stream" }));
    await page.fill("#url", "/models/picked.gguf");
    await page.click("#fetch");
    await page.waitForFunction(() => ["ready", "error"].includes((window as unknown as DemoWindow).llamatsDemo.state));
    expect(await page.evaluate(() => (window as unknown as DemoWindow).llamatsDemo.error)).to.equal(undefined);
    expect(await page.locator("#progress").evaluate((p) => (p as HTMLProgressElement).value)).to.equal(1);
    const inPage = await page.evaluate((ids) => {
      const model = (window as unknown as DemoWindow).llamatsDemo.model!;
      const l = model.forward(ids, { logits: "all" });
      return Array.from(new Uint32Array(l.buffer, l.byteOffset, l.length));
    }, m.ids);
    const node = await loadModel(m.path, { backend: "wasm", threads: 1 });
    try {
      expect(inPage).to.deep.equal(bits(node.forward(m.ids, { logits: "all" })));
    } finally {
      node.dispose();
    }
    // A missing file is one line on the page, not a hang.
    await page.fill("#url", "/models/absent.gguf");
    await page.click("#fetch");
    await page.waitForFunction(() => (window as unknown as DemoWindow).llamatsDemo.state === "error");
    expect(await page.textContent("#status")).to.match(/absent\.gguf: HTTP 404/);
  });

  it("streams the same greedy generation as `llamats generate` (text on the UI, ids for stories260K)", async () => {
    for (const m of models) {
      await loadInPage(m.path, "wasm");
      if (m.text) {
        const prompt = "为什么要减少污染，保护环境？";
        await page.fill("#prompt", prompt);
        await page.fill("#maxTokens", "16");
        await page.fill("#temperature", "0");
        await page.click("#generate");
        await page.waitForFunction(() => (window as unknown as DemoWindow).llamatsDemo.state === "ready" && document.getElementById("speed")!.textContent !== "");
        const shown = (await page.textContent("#output")) ?? "";
        const cli = spawnSync(process.execPath, [...cliFromSource, "generate", "-m", m.path, "-p", prompt, "-n", "16", "--temp", "0", "--backend", "wasm", "--threads", "1"], { cwd: repoRoot(), encoding: "utf8" });
        expect(cli.status, cli.stderr).to.equal(0);
        expect(shown.startsWith(prompt)).to.equal(true);
        expect(shown.slice(prompt.length)).to.equal(cli.stdout.replace(/\n$/, ""));
        expect(await page.textContent("#speed")).to.match(/generation: 16 tokens, [\d.]+ tok\/s/);
      } else {
        const ids = await page.evaluate(async (prompt) => {
          const model = (window as unknown as DemoWindow).llamatsDemo.model!;
          model.reset();
          const out: number[] = [];
          for await (const id of model.generateIds(prompt, { maxTokens: 24, temperature: 0 })) out.push(id);
          return out;
        }, [1]);
        const cli = spawnSync(process.execPath, [...cliFromSource, "generate", "-m", m.path, "--ids", "1", "-n", "24", "--temp", "0", "--backend", "wasm", "--threads", "1"], { cwd: repoRoot(), encoding: "utf8" });
        expect(cli.status, cli.stderr).to.equal(0);
        expect(ids.join(",")).to.equal(cli.stdout.trim());
        expect(ids.length).to.be.greaterThan(0);
      }
    }
  });
});
