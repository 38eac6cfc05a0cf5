// A real `llamats serve` on 127.0.0.1 for the browser tests: the synthetic tiny model
// (`llamats synth --shape tiny`: random weights, so the replies are noise, but the real
// architecture, a real Chinese-capable SentencePiece vocabulary and the real server stack),
// run from this checkout's TypeScript sources.

import { cliFromSource, repoRoot, startServe } from "@llamats/testkit";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServeProcess {
  url: string;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function startLlamatsServe(): Promise<ServeProcess> {
  const dir = mkdtempSync(join(tmpdir(), "llamats-webchat-serve-"));
  const model = join(dir, "tiny.gguf");
  const synth = spawnSync(process.execPath, [...cliFromSource(), "synth", "--shape", "tiny", "-o", model], { cwd: repoRoot(), encoding: "utf8" });
  if (synth.status !== 0) throw new Error(`llamats synth failed: ${synth.stderr}`);
  const s = await startServe(["-m", model, "--parallel", "2"], 120_000);
  const url = `${s.base}/`;
  return {
    url,
    async metrics() {
      return (await fetch(`${url}metrics`)).text();
    },
    async close() {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
