// A real `llamats serve` on 127.0.0.1 for the browser tests: the synthetic tiny model
// (`llamats synth --shape tiny`: random weights, so the replies are noise, but the real
// architecture, a real Chinese-capable SentencePiece vocabulary and the real server stack),
// run from this checkout's TypeScript sources.

import { repoRoot } from "@llamats/testkit";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cliFromSource = ["--conditions=source", "--import=tsx", join(repoRoot(), "packages", "cli", "src", "bin.ts")];

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

export interface ServeProcess {
  url: string;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function startLlamatsServe(): Promise<ServeProcess> {
  const dir = mkdtempSync(join(tmpdir(), "llamats-webchat-serve-"));
  const model = join(dir, "tiny.gguf");
  const synth = spawnSync(process.execPath, [...cliFromSource, "synth", "--shape", "tiny", "-o", model], { cwd: repoRoot(), encoding: "utf8" });
  if (synth.status !== 0) throw new Error(`llamats synth failed: ${synth.stderr}`);
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...cliFromSource, "serve", "-m", model, "--host", "127.0.0.1", "--port", String(port), "--parallel", "2"], {
    cwd: repoRoot(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => { stderr += d.toString("utf8"); });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llamats serve exited with ${child.exitCode}:\n${stderr}`);
    try {
      const res = await fetch(`${url}health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`llamats serve not ready after 120 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async metrics() {
      return (await fetch(`${url}metrics`)).text();
    },
    async close() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
