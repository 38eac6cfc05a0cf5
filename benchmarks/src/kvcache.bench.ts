// KV cache storage types side by side: token generation (tgN: N single-token forwards from
// an empty cache, so attention reads 1 .. N cached rows) with f32, f16 and q8_0 caches on the
// same model in one run, the types interleaved rep by rep (a shared VM's load drifts), best
// of --reps; bytes of cache per token. Default models: stories260K (shared fixture, llama2.c)
// and the TinyLlama-shape Q4_0 synthetic GGUF of the llamacpp suite. Also one decode step's
// attention alone (TinyLlama heads: 32 query, 4 KV, headDim 64) over 128 .. 2048 cached rows
// per type, microseconds per layer, where the storage type's cost is not diluted by matmuls.
//
//   npm run -s bench -- --suite kvcache [--threads 1] [-n 128] [--reps 3] [--models a.gguf,...] [--types f32,f16,q8_0]

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadavg } from "node:os";
import { loadModel, writeSyntheticModel, type LlamaModel } from "@llamats/engine";
import { KVCache } from "@llamats/model";
import { ReferenceBackend, type KVCacheType } from "@llamats/tensor";
import { fixturePath } from "@llamats/testkit";
import { machineInfo, runStandalone } from "./harness.js";

export const heavy = true;

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : dflt;
}

function tg(model: LlamaModel, n: number): number {
  model.reset();
  const vocab = model.config.vocabSize;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) model.forward([(i * 7919 + 13) % vocab], { pos: i });
  return n / ((performance.now() - t0) / 1000);
}

/** µs per decode-step attention of one TinyLlama layer over kvLen rows, best of reps, per type. */
function attentionMicro(types: string[], kvLens: number[], reps: number): Record<string, unknown>[] {
  const be = new ReferenceBackend();
  const nHeads = 32, nKvHeads = 4, headDim = 64, kvDim = nKvHeads * headDim;
  const out: Record<string, unknown>[] = [];
  for (const kvLen of kvLens) {
    let s = 1;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const k = Float32Array.from({ length: kvLen * kvDim }, rnd);
    const v = Float32Array.from({ length: kvLen * kvDim }, rnd);
    const q = Float32Array.from({ length: nHeads * headDim }, rnd);
    const o = new Float32Array(nHeads * headDim);
    const caches = types.map((t) => {
      const c = new KVCache(be, 1, kvLen, kvDim, t as KVCacheType);
      c.write(0, 0, k, v, kvLen);
      return c;
    });
    const p = { nTokens: 1, pos0: kvLen - 1, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
    const calls = Math.max(1, Math.round(50_000 / kvLen));
    const best = types.map(() => Infinity);
    for (let r = 0; r < reps + 1; r++) {
      caches.forEach((c, i) => {
        const t0 = performance.now();
        for (let j = 0; j < calls; j++) be.attention(o, q, c.layerK(0), c.layerV(0), p);
        const us = ((performance.now() - t0) * 1000) / calls;
        if (r > 0) best[i] = Math.min(best[i]!, us); // rep 0 warms up
      });
    }
    const row: Record<string, unknown> = { kvLen };
    types.forEach((t, i) => {
      row[`us_${t}`] = +best[i]!.toFixed(1);
      if (t !== "f32" && types.includes("f32")) row[`${t}_vs_f32_time`] = +(best[i]! / best[types.indexOf("f32")]!).toFixed(3);
    });
    process.stderr.write(`  attention ${JSON.stringify(row)}\n`);
    out.push(row);
  }
  return out;
}

export async function run(args: string[] = []): Promise<unknown> {
  const threads = Number(arg(args, "--threads", "1"));
  const n = Number(arg(args, "-n", "128"));
  const reps = Number(arg(args, "--reps", "3"));
  const types = arg(args, "--types", "f32,f16,q8_0").split(",");
  let models = arg(args, "--models", "").split(",").filter(Boolean).map((path) => ({ path, format: undefined as string | undefined }));
  if (models.length === 0) {
    const dir = process.env.LLAMATS_BENCH_DIR ?? "/tmp/llamats-bench";
    mkdirSync(dir, { recursive: true });
    const tiny = join(dir, "synth-1b-q4_0.gguf");
    if (!existsSync(tiny)) writeSyntheticModel(tiny, { shape: "1b", type: "q4_0", seed: 1 });
    models = [{ path: fixturePath("stories260K/stories260K.bin"), format: "llama2c" }, { path: tiny, format: undefined }];
  }
  const attention = attentionMicro(types, [128, 512, 2048], reps);
  const rows: Record<string, unknown>[] = [];
  for (const m of models) {
    if (!existsSync(m.path)) {
      rows.push({ model: m.path, error: "missing" });
      continue;
    }
    const loaded: LlamaModel[] = [];
    try {
      for (const t of types) loaded.push(await loadModel(m.path, { format: m.format, threads, backend: "wasm", nCtx: n, cacheType: t }));
      const best = loaded.map(() => 0);
      const load0 = loadavg()[0];
      loaded.forEach((model) => tg(model, Math.min(n, 8))); // warm-up
      for (let r = 0; r < reps; r++) loaded.forEach((model, i) => (best[i] = Math.max(best[i]!, tg(model, n))));
      const f32 = best[types.indexOf("f32")];
      const row: Record<string, unknown> = { model: m.path.split("/").pop(), threads, n, loadAvg1m: +load0.toFixed(2) };
      types.forEach((t, i) => {
        row[`tg${n}_${t}`] = +best[i]!.toFixed(2);
        if (f32 && t !== "f32") row[`${t}_vs_f32`] = +(best[i]! / f32).toFixed(3);
        row[`kvBytesPerToken_${t}`] = loaded[i]!.kvBytes / n;
      });
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      rows.push(row);
    } finally {
      loaded.forEach((l) => l.dispose());
    }
  }
  return { machine: machineInfo(), settings: { threads, n, reps, types }, attention, rows };
}

runStandalone(import.meta.url, "kvcache", run, { wrap: false });
