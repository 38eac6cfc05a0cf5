// ModelSource over a GGUF file: names and layout are already canonical; hyper-parameters
// come from the `<arch>.*` keys.

import { openGguf } from "../gguf/reader.js";
import { buildSource, completeHParams } from "./build.js";
import type { LlamaHParams, ModelSource, SourceTensor } from "./types.js";

export function openGgufSource(path: string): ModelSource {
  const g = openGguf(path);
  const md = g.metadata;
  const arch = typeof md["general.architecture"] === "string" ? (md["general.architecture"] as string) : "llama";
  const n = (k: string): number | undefined => {
    const v = md[`${arch}.${k}`];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
  };
  const stated: LlamaHParams = {
    vocabSize: n("vocab_size") ?? (Array.isArray(md["tokenizer.ggml.tokens"]) ? (md["tokenizer.ggml.tokens"] as unknown[]).length : undefined),
    contextLength: n("context_length"),
    embeddingLength: n("embedding_length"),
    blockCount: n("block_count"),
    feedForwardLength: n("feed_forward_length"),
    headCount: n("attention.head_count"),
    headCountKv: n("attention.head_count_kv"),
    rmsEps: n("attention.layer_norm_rms_epsilon"),
    ropeFreqBase: n("rope.freq_base"),
    ropeDimensionCount: n("rope.dimension_count"),
    ropeScalingType: typeof md[`${arch}.rope.scaling.type`] === "string" ? (md[`${arch}.rope.scaling.type`] as string) : undefined,
    ropeScalingFactor: n("rope.scaling.factor"),
  };
  for (const k of Object.keys(stated) as (keyof LlamaHParams)[]) if (stated[k] === undefined) delete stated[k];
  // f32 keys: show the decimal that was written (1e-5), not its float32 expansion.
  if (stated.rmsEps !== undefined) stated.rmsEps = shortestF32(stated.rmsEps);
  if (stated.ropeFreqBase !== undefined) stated.ropeFreqBase = shortestF32(stated.ropeFreqBase);
  if (stated.ropeScalingFactor !== undefined) stated.ropeScalingFactor = shortestF32(stated.ropeScalingFactor);
  const entries = g.tensors.map((t) => {
    const tensor: SourceTensor = { name: t.name, type: t.type as SourceTensor["type"], shape: t.shape, byteLength: t.byteLength, sourceName: t.name };
    return { tensor, readRaw: (dst?: Uint8Array) => g.readTensor(t, dst) };
  });
  const src = buildSource({
    format: "gguf", path, metadata: md,
    config: completeHParams(path, stated, entries.map((e) => e.tensor)),
    entries, close: () => g.close(),
  });
  return Object.assign(src, { kv: g.kv });
}

/** The shortest decimal that rounds to the same float32. */
export function shortestF32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === Math.fround(x)) return y;
  }
  return x;
}
