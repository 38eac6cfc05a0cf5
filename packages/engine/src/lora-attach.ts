// Runtime LoRA at load time (`--lora DIR`, inference_hf.py's --lora_model without merging):
// @llamats/lora turns adapter folders into per-linear deltas (canonical names, GGUF layout)
// and replacement tensors (modules_to_save: token_embd / output at the adapter's vocabulary,
// 49953 or 49954 for Chinese-LLaMA / Alpaca). Here they are placed in backend memory and
// attached to the weights: the forward pass computes W x + scale · B (A x) per delta.

import { LlamatsError, buildLlamaConfig, type Backend, type LlamaConfig, type WeightMatrix } from "@llamats/tensor";
import { buildWeights, type LayerWeights, type Linear, type LlamaWeights, type RawTensor } from "@llamats/model";
import { loadLoraStack, type RuntimeLora } from "@llamats/lora";
import type { ModelSource } from "@llamats/formats";

const LINEARS: readonly [keyof LayerWeights, string][] = [
  ["attnQ", "attn_q"], ["attnK", "attn_k"], ["attnV", "attn_v"], ["attnOutput", "attn_output"],
  ["ffnGate", "ffn_gate"], ["ffnDown", "ffn_down"], ["ffnUp", "ffn_up"],
];

export interface LoadedWithLora {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
}

function toBackend(backend: Backend, bytes: Uint8Array): Uint8Array {
  const dst = backend.allocBytes(bytes.length);
  dst.set(bytes);
  return dst;
}

/** Weights of `source` with the adapters in `dirs` applied at runtime, in order. */
export function loadWeightsWithLoras(source: ModelSource, backend: Backend, config: LlamaConfig, dirs: readonly string[]): LoadedWithLora {
  const rt: RuntimeLora = loadLoraStack(dirs, config);
  if (rt.deltas.size === 0 && rt.replacements.size === 0) throw new LlamatsError(`${dirs.join(", ")}: no LoRA weights found`);
  if (rt.vocabSize !== undefined && rt.vocabSize !== config.vocabSize) {
    config = buildLlamaConfig({ ...config, vocabSize: rt.vocabSize }, `${source.path} + LoRA`);
  }
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const get = (name: string): RawTensor | undefined => {
    const r = rt.replacements.get(name);
    if (r) return { type: r.type, shape: r.shape, bytes: toBackend(backend, r.bytes) };
    const t = byName.get(name);
    if (!t) return undefined;
    return { type: t.type, shape: t.shape, bytes: source.read(name, backend.allocBytes(t.byteLength)) };
  };
  const base = buildWeights(config, get, source.path, backend);
  const used = new Set<string>();
  const attach = (w: Linear, name: string): Linear => {
    const ds = rt.deltas.get(name);
    if (!ds) return w;
    used.add(name);
    const loras = ds.map((d) => ({ a: inBackend(backend, d.a), b: inBackend(backend, d.b), scale: d.scale }));
    return Object.freeze({ ...w, loras: [...(w.loras ?? []), ...loras] });
  };
  const layers = base.layers.map((L, l) => {
    const out: Record<string, unknown> = { ...L };
    for (const [field, short] of LINEARS) out[field] = attach(L[field] as Linear, `blk.${l}.${short}.weight`);
    return Object.freeze(out as unknown as LayerWeights);
  });
  const output = attach(base.output, "output.weight");
  const unused = [...rt.deltas.keys()].filter((k) => !used.has(k));
  if (unused.length) throw new LlamatsError(`LoRA targets not in the model: ${unused.slice(0, 5).join(", ")}`);
  return { config, weights: Object.freeze({ ...base, layers, output }) };
}

function inBackend(backend: Backend, m: WeightMatrix): WeightMatrix {
  return { type: m.type, rows: m.rows, cols: m.cols, bytes: toBackend(backend, m.bytes) };
}
