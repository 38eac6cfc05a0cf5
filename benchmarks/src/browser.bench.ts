// Prompt processing (pp) and generation (tg) tok/s of one GGUF in headless Chromium (the
// benchmark page /browser/bench.html of `llamats serve --browser-demo`, the model read from
// the server's /models/ with range requests) beside Node on the same kernels, for each thread
// count, in one run. Both sides run @llamats/browser's measureSpeed (speed.ts): a warm-up,
// one forward of pp tokens, then tg single-token forwards. Chromium: Debian's /usr/bin/chromium
// via playwright-core (LLAMATS_CHROMIUM overrides), headless, as the browser tests.
//
//   node --conditions=source --import=tsx benchmarks/src/browser.bench.ts \
//     [--model a.gguf | --shape 1b --type q4_0] [--threads 1,2] [--pp 64] [--tg 16] [--where worker,page]
//
// --where: the model in the page's model worker (as the demo runs it; default) and/or on the
// page's own thread (the pool's caller then spins instead of blocking).
//
// Without --model a synthetic model of --shape/--type (default TinyLlama-1.1B-shape Q4_0,
// random weights: the speed does not depend on the values) is written to a temp folder.

import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { loadModel, writeSyntheticModel } from "@llamats/engine";
import { measureSpeed, type SpeedResult } from "@llamats/browser";
import { buildBrowser } from "@llamats/browser/build";
import { startServe } from "@llamats/testkit";
import { chromium } from "playwright-core";
import { machineInfo, round, runStandalone } from "./harness.js";

export const heavy = true; // starts Chromium and loads a 1B model twice per thread count

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

interface PageBench {
  state: string;
  error?: string;
  result?: SpeedResult & { backend: string; threads: number; loadSec: number; userAgent: string; crossOriginIsolated: boolean };
}

const rounded = (r: SpeedResult) => ({ ppTokPerSec: round(r.ppTokPerSec), tgTokPerSec: round(r.tgTokPerSec) });

export async function run(args: string[]): Promise<unknown> {
  const pp = Number(arg(args, "--pp", "64"));
  const tg = Number(arg(args, "--tg", "16"));
  const threadCounts = arg(args, "--threads", "1,2").split(",").map(Number);
  const wheres = arg(args, "--where", "worker").split(",");
  for (const w of wheres) if (w !== "worker" && w !== "page") throw new Error(`--where ${w}: want worker or page`);
  const dir = mkdtempSync(join(tmpdir(), "llamats-browser-bench-"));
  try {
    const given = arg(args, "--model", "");
    const name = given ? basename(given) : `synthetic-${arg(args, "--shape", "1b")}-${arg(args, "--type", "q4_0")}.gguf`;
    const path = join(dir, name.endsWith(".gguf") ? name : `${name}.gguf`);
    if (given) {
      try {
        symlinkSync(resolve(given), path); // served from the temp folder without a copy
      } catch {
        copyFileSync(given, path);
      }
    } else {
      process.stderr.write(`[browser] writing ${name}\n`);
      writeSyntheticModel(path, { shape: arg(args, "--shape", "1b"), type: arg(args, "--type", "q4_0"), seed: 1 });
    }
    await buildBrowser(); // the pages of this checkout
    const server = await startServe(["--browser-demo", "--browser-models", dir]);
    const browser = await chromium.launch({
      executablePath: process.env.LLAMATS_CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    });
    const rows: unknown[] = [];
    let userAgent: string | undefined;
    try {
      for (const threads of threadCounts) {
        process.stderr.write(`[browser] ${threads} thread(s): Node\n`);
        const node = await loadModel(path, { backend: "wasm", threads });
        let nodeSpeed: SpeedResult;
        try {
          nodeSpeed = measureSpeed(node, pp, tg);
        } finally {
          node.dispose();
        }
        const chromiumRows: Record<string, unknown> = {};
        const ratio: Record<string, unknown> = {};
        for (const where of wheres) {
          process.stderr.write(`[browser] ${threads} thread(s): Chromium (${where})\n`);
          const page = await browser.newPage();
          page.setDefaultTimeout(900_000);
          let inPage: PageBench;
          try {
            await page.goto(`${server.base}/browser/bench.html?model=/models/${encodeURIComponent(basename(path))}&threads=${threads}&pp=${pp}&tg=${tg}&where=${where}`);
            await page.waitForFunction(() => ["done", "error"].includes((window as unknown as { llamatsBench: PageBench }).llamatsBench.state));
            inPage = await page.evaluate(() => (window as unknown as { llamatsBench: PageBench }).llamatsBench);
          } finally {
            await page.close();
          }
          if (!inPage.result) throw new Error(`bench page: ${inPage.error}`);
          const c = inPage.result;
          chromiumRows[where] = { backend: c.backend, crossOriginIsolated: c.crossOriginIsolated, loadSec: round(c.loadSec), ...rounded(c) };
          ratio[where] = { pp: round(c.ppTokPerSec / nodeSpeed.ppTokPerSec), tg: round(c.tgTokPerSec / nodeSpeed.tgTokPerSec) };
          userAgent = c.userAgent;
        }
        rows.push({ threads, node: { backend: node.backend.name, ...rounded(nodeSpeed) }, chromium: chromiumRows, ratio });
      }
    } finally {
      await browser.close();
      await server.close();
    }
    return { model: given || name, pp, tg, chromium: userAgent, loadAvgAfter: machineInfo().loadAvg1m, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "browser", run);
