// Shared by the engine tests: synthetic tiny models written once per test run into a
// temporary folder (deterministic: same seed, same bytes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticModel } from "@llamats/engine";

let dir: string | undefined;
const made = new Map<string, string>();

export function testDir(): string {
  dir ??= mkdtempSync(join(tmpdir(), "llamats-engine-"));
  return dir;
}

/** Path of the tiny synthetic model of this type and seed (written on first use). */
export function tinyModel(type = "f16", seed = 0): string {
  const key = `${type}-${seed}`;
  let p = made.get(key);
  if (!p) {
    p = join(testDir(), `tiny-${key}.gguf`);
    writeSyntheticModel(p, { shape: "tiny", type, seed });
    made.set(key, p);
  }
  return p;
}

export function cleanupTestDir(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  made.clear();
}
