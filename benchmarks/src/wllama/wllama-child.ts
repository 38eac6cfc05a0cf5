// One wllama 2.3.7 measurement in its own process (its browser globals, 4 GiB shared wasm
// memory and worker threads stay out of the benchmark's process), printing one JSON line:
//   node --import=tsx wllama-child.ts MODEL.gguf THREADS P N REPS VOCAB
// pp: P prompt tokens in one decode from an empty KV cache; tg: N single-token decodes from
// an empty cache; best of REPS after a warm-up, tokens/s (as the llama.cpp column).

import { openAsBlob } from "node:fs";
import { inspect } from "node:util";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { installWllamaShim, WASM_BASE } from "./node-shim.mjs";

/** The part of wllama 2.3.7's API this child uses. */
interface WllamaInstance {
  loadModel(blobs: Blob[], config: { n_threads: number; n_ctx: number; n_batch: number }): Promise<void>;
  kvClear(): Promise<void>;
  decode(tokens: number[], options: object): Promise<unknown>;
  isMultithread(): boolean;
  exit(): Promise<void>;
}
interface WllamaClass {
  new (paths: Record<string, string>, config: object): WllamaInstance;
  getLibllamaVersion(): string;
}

function tokens(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % (vocab - 100)) + 50);
}

async function main(): Promise<void> {
  const [path, threadsArg, pArg, nArg, repsArg, vocabArg] = process.argv.slice(2);
  const threads = Number(threadsArg), p = Number(pArg), n = Number(nArg), reps = Number(repsArg), vocab = Number(vocabArg);
  const pkgDir = join(dirname(createRequire(import.meta.url).resolve("@wllama/wllama/package.json")), "esm");
  installWllamaShim(pkgDir);
  // The package's typings point at its TypeScript sources, which do not check under our settings.
  const { Wllama } = (await import("@wllama/wllama" as string)) as { Wllama: WllamaClass };
  const quiet = { debug() {}, log() {}, warn() {}, error: (...a: unknown[]) => process.stderr.write(`wllama: ${a.map((x) => inspect(x, { depth: 3 })).join(" ")}\n`) };
  const w = new Wllama({ "single-thread/wllama.wasm": `${WASM_BASE}single-thread/wllama.wasm`, "multi-thread/wllama.wasm": `${WASM_BASE}multi-thread/wllama.wasm` },
    { logger: quiet, suppressNativeLog: true });
  const t0 = performance.now();
  await w.loadModel([await openAsBlob(path)], { n_threads: threads, n_ctx: Math.max(256, p + n + 8), n_batch: Math.max(p, 32) });
  const loadMs = performance.now() - t0;
  const pp = async () => {
    await w.kvClear();
    const s = performance.now();
    await w.decode(tokens(p, vocab), {});
    return p / ((performance.now() - s) / 1000);
  };
  const tg = async () => {
    await w.kvClear();
    const ids = tokens(n, vocab);
    const s = performance.now();
    for (let i = 0; i < n; i++) await w.decode([ids[i]!], {});
    return n / ((performance.now() - s) / 1000);
  };
  await pp();
  await tg();
  let bestPp = 0, bestTg = 0;
  for (let r = 0; r < reps; r++) {
    bestPp = Math.max(bestPp, await pp());
    bestTg = Math.max(bestTg, await tg());
  }
  process.stdout.write(JSON.stringify({ pp: bestPp, tg: bestTg, loadMs, multiThread: w.isMultithread(), libllama: Wllama.getLibllamaVersion() }) + "\n");
  await w.exit();
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }) + "\n");
  process.exit(1);
});
