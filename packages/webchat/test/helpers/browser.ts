// Headless Chromium from Debian (`apt-get install -y chromium`) driven by playwright-core;
// `npx playwright install` cannot download browsers here. Outside CI the browser suites skip
// with one line when there is no browser; under CI=true a missing browser fails the run.

import { isCI, repoRoot } from "@llamats/testkit";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const chromiumPath = process.env.LLAMATS_CHROMIUM ?? "/usr/bin/chromium";

const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Screenshots land here (ignored by git). */
export const screenshotDir = join(repoRoot(), "packages", "webchat", "test-output");

export function describeBrowser(title: string, body: () => void): void {
  if (existsSync(chromiumPath)) {
    describe(title, body);
    return;
  }
  if (isCI()) throw new Error(`${chromiumPath} not found under CI=true (.ci/run installs Debian's chromium)`);
  describe(title, () => {
    it.skip(`skipped: no browser at ${chromiumPath} (apt-get install -y chromium)`, () => {});
  });
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh Chromium with its own throw-away profile (--user-data-dir). */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "llamats-webchat-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    viewport: { width: 1100, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name.replace(/[^a-z0-9-]+/gi, "-").toLowerCase()}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
