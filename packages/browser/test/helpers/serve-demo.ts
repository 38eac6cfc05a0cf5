// A real `llamats serve --browser-demo` on 127.0.0.1 (no model on the server), run from this
// checkout's TypeScript sources, for the Chromium tests.

import { repoRoot } from "@llamats/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

export const cliFromSource = ["--conditions=source", "--import=tsx", join(repoRoot(), "packages", "cli", "src", "bin.ts")];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface DemoServer {
  /** http://127.0.0.1:PORT/browser/ */
  pageUrl: string;
  close(): Promise<void>;
}

export async function startBrowserDemo(): Promise<DemoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...cliFromSource, "serve", "--browser-demo", "--host", "127.0.0.1", "--port", String(port)], {
    cwd: repoRoot(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llamats serve --browser-demo exited with ${child.exitCode}:\n${stderr}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`llamats serve --browser-demo not ready after 60 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    pageUrl: `${base}/browser/`,
    async close() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
