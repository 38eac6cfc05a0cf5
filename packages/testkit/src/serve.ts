// A real `llamats serve ARGS` on 127.0.0.1 for the browser and end-to-end tests, run from this
// checkout's TypeScript sources on a free port, ready once /health answers.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { repoRoot } from "./fixtures.js";

/** node arguments that run the CLI from its TypeScript sources (append the CLI's own arguments). */
export function cliFromSource(): string[] {
  return ["--conditions=source", "--import=tsx", join(repoRoot(), "packages", "cli", "src", "bin.ts")];
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
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

export interface ServedProcess {
  /** http://127.0.0.1:PORT (no trailing slash) */
  readonly base: string;
  /** SIGTERM, then wait for the exit. */
  close(): Promise<void>;
}

/** Start `llamats serve ...args --host 127.0.0.1 --port P` and wait (up to readyMs) for /health. */
export async function startServe(args: readonly string[], readyMs = 60_000): Promise<ServedProcess> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...cliFromSource(), "serve", ...args, "--host", "127.0.0.1", "--port", String(port)], {
    cwd: repoRoot(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const what = `llamats serve ${args.join(" ")}`;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${stderr}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${what} not ready after ${readyMs / 1000} s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    async close() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
