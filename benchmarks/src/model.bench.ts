// Forward-pass throughput of @llamats/model on the reference backend: prefill tokens/s (one
// batched pass of 64 tokens) and decode tokens/s (one token at position 64) for a synthetic
// LLaMA (dim 512, 4 layers, 8 heads / 4 KV heads, ffn 1376, vocab 8000) with F32, F16, Q8_0
// and Q4_0 weights (quantKernels: activations to Q8 as ggml). Ratios are against F32 in the
// same run. Weights are seeded random; nothing touches the disk.

import { RunState, buildWeights, forward, type RawTensor } from "@llamats/model";
import { quantKernels, quantizeRows } from "@llamats/quant";
import { GGMLType, ReferenceBackend, ggmlTypeInfo, buildLlamaConfig, type LlamaConfig } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import { round, runStandalone } from "./harness.js";

const CONFIG: LlamaConfig = buildLlamaConfig({ embeddingLength: 512, blockCount: 4, headCount: 8, headCountKv: 4, feedForwardLength: 1376, vocabSize: 8000, contextLength: 256 });

function weightsOf(type: GGMLType) {
  let seed = 1;
  const { embeddingLength: dim, feedForwardLength: ffnDim, vocabSize, headCountKv: nKvHeads, keyLength: headDim } = CONFIG;
  const kv = nKvHeads * headDim;
  const shapes: Record<string, number[]> = {
    token_embd: [vocabSize, dim], output: [vocabSize, dim], output_norm: [dim], attn_norm: [dim], ffn_norm: [dim],
    attn_q: [dim, dim], attn_k: [kv, dim], attn_v: [kv, dim], attn_output: [dim, dim],
    ffn_gate: [ffnDim, dim], ffn_up: [ffnDim, dim], ffn_down: [dim, ffnDim],
  };
  return buildWeights(CONFIG, (name): RawTensor => {
    const shape = shapes[name.replace(/^blk\.\d+\./, "").replace(/\.weight$/, "")];
    if (shape.length === 1) return { type: GGMLType.F32, shape, bytes: new Uint8Array(new Float32Array(shape[0]).fill(1).buffer) };
    // ffn_down rows of 1376 are whole Q8_0/Q4_0 blocks (43 x 32).
    return { type, shape, bytes: quantizeRows(type, randomNormal(shape[0] * shape[1], seed++, 0.02), shape[0], shape[1]) };
  }, "synthetic");
}

function bestMs(fn: () => void, reps: number): number {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export async function run(): Promise<unknown> {
  const be = new ReferenceBackend({ kernels: quantKernels });
  const prompt = Array.from({ length: 64 }, (_, i) => (i * 97 + 1) % CONFIG.vocabSize);
  const rows: Record<string, unknown>[] = [];
  let f32 = { prefill: 0, decode: 0 };
  for (const type of [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0]) {
    const w = weightsOf(type);
    const state = new RunState(be, CONFIG, { nCtx: 128, maxBatch: 64 });
    const prefillMs = bestMs(() => { state.reset(); forward(w, state, prompt, 0); }, 3);
    const decodeMs = bestMs(() => { state.cache.truncate(64); forward(w, state, [5], 64); }, 5);
    const r = { prefillTokPerSec: round(64 / (prefillMs / 1000)), decodeTokPerSec: round(1000 / decodeMs) };
    if (type === GGMLType.F32) f32 = { prefill: r.prefillTokPerSec, decode: r.decodeTokPerSec };
    const name = ggmlTypeInfo(type)!.name;
    rows.push({ weights: name, ...r, prefillVsF32: round(r.prefillTokPerSec / f32.prefill), decodeVsF32: round(r.decodeTokPerSec / f32.decode) });
    process.stderr.write(`  ${name}: prefill ${r.prefillTokPerSec} tok/s, decode ${r.decodeTokPerSec} tok/s\n`);
  }
  return { config: CONFIG, backend: be.name, results: rows };
}

runStandalone(import.meta.url, "model", run);
