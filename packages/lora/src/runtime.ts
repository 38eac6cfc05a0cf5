// Runtime LoRA (`llamats generate --lora DIR`): instead of merging, each linear computes
// W x + scale · B (A x) (packages/model's Linear.loras). This file turns adapter folders
// into those deltas under canonical GGUF names, in GGUF layout: the forward pass keeps Q/K
// rows interleaved, so lora_B of q_proj / k_proj gets the same HF -> interleaved row
// permutation as the base weights (delta = B A permutes as B). modules_to_save tensors
// (embed_tokens, lm_head at the adapter's vocabulary) come back as replacements.
// Unmerged results differ from merged f16 weights by rounding only (fixture study: 1e-3).

import { GGMLType, LlamatsError, type WeightMatrix } from "@llamats/tensor";
import { convertTensorBytes } from "@llamats/formats";
import { canonicalLoraRows, openAdapter, type AdapterTensor, type HeadCounts } from "./adapter.js";

/** One LoRA's delta for one linear (the shape packages/model's LoraDelta expects). */
export interface RuntimeLoraDelta {
  readonly a: WeightMatrix; // (r, in)
  readonly b: WeightMatrix; // (out, r)
  readonly scale: number;
}

/** A full tensor that replaces the base's (token_embd / output at the adapter's vocabulary). */
export interface ReplacementTensor {
  readonly type: GGMLType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

export interface RuntimeLora {
  /** Canonical linear name ("blk.0.attn_q.weight") -> its deltas, in LoRA order. */
  readonly deltas: Map<string, RuntimeLoraDelta[]>;
  /** Canonical name -> replacement (the last LoRA's wins). */
  readonly replacements: Map<string, ReplacementTensor>;
  /** Rows of the replacement token_embd, when there is one: the model's new vocab size. */
  readonly vocabSize?: number;
}

/** The head counts the Q/K permutation needs (packages/model's LlamaConfig fits). */
export type RuntimeLoraConfig = HeadCounts;

export interface RuntimeLoraOptions {
  /** Element type of A and B: F32 (default) or F16 (half the memory; matmul supports both). */
  readonly type?: typeof GGMLType.F32 | typeof GGMLType.F16;
}

function asMatrix(t: AdapterTensor, type: GGMLType, canonicalRowsOf?: string, heads?: HeadCounts): WeightMatrix {
  const [rows, cols] = t.shape;
  let bytes = convertTensorBytes(t.read(), t.type, type, t.shape);
  if (canonicalRowsOf) bytes = canonicalLoraRows(canonicalRowsOf, bytes, rows, heads!);
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice(); // typed-array views need alignment
  return { type, rows, cols, bytes };
}

/** Load the runtime deltas of LoRA folders applied in order (Alpaca-Plus: llama-plus, alpaca-plus). */
export function loadLoraStack(adapterDirs: readonly string[], config: RuntimeLoraConfig, opts: RuntimeLoraOptions = {}): RuntimeLora {
  const deltas = new Map<string, RuntimeLoraDelta[]>();
  const replacements = new Map<string, ReplacementTensor>();
  let vocabSize: number | undefined;
  for (const dir of adapterDirs) {
    const one = loadLoraDeltas(dir, config, opts);
    for (const [k, v] of one.deltas) deltas.set(k, [...(deltas.get(k) ?? []), ...v]);
    for (const [k, v] of one.replacements) replacements.set(k, v);
    vocabSize = one.vocabSize ?? vocabSize;
  }
  return { deltas, replacements, vocabSize };
}

/** Per canonical tensor name, the adapter's {a (r, in), b (out, r), scale}, plus replacements. */
export function loadLoraDeltas(adapterDir: string, config: RuntimeLoraConfig, opts: RuntimeLoraOptions = {}): RuntimeLora {
  const type = opts.type ?? GGMLType.F32;
  const ad = openAdapter(adapterDir);
  try {
    if (ad.config.fanInFanOut) throw new LlamatsError(`${ad.dir}: fan_in_fan_out adapters cannot be applied at runtime to LLaMA; merge them instead`);
    const deltas = new Map<string, RuntimeLoraDelta[]>();
    for (const [name, { a, b }] of ad.plan.pairs) {
      deltas.set(name, [{ a: asMatrix(ad.byKey.get(a)!, type), b: asMatrix(ad.byKey.get(b)!, type, name, config), scale: ad.config.scale }]);
    }
    const replacements = new Map<string, ReplacementTensor>();
    let vocabSize: number | undefined;
    for (const [name, key] of ad.plan.full) {
      const t = ad.byKey.get(key)!;
      if (t.type !== GGMLType.F16 && t.type !== GGMLType.BF16 && t.type !== GGMLType.F32) throw new LlamatsError(`${ad.weightsFile}: ${key} has ggml type ${t.type}`);
      const bytes = canonicalLoraRows(name, t.read(), t.shape[0], config);
      replacements.set(name, { type: t.type, shape: t.shape, bytes: bytes.byteOffset % 4 === 0 ? bytes : bytes.slice() });
      if (name === "token_embd.weight") vocabSize = t.shape[0];
    }
    return { deltas, replacements, vocabSize };
  } finally {
    ad.close();
  }
}
