// Runtime LoRA at load time (`--lora DIR`, inference_hf.py's --lora_model without merging):
// @llamats/lora turns adapter folders into per-linear deltas (canonical names, GGUF layout)
// and replacement tensors (modules_to_save: token_embd / output at the adapter's vocabulary,
// 49953 or 49954 for Chinese-LLaMA / Alpaca). Here they are placed in backend memory and
// attached to the weights: the forward pass computes W x + scale · B (A x) per delta.

import { LlamatsError, buildLlamaConfig, type Backend, type LlamaConfig, type WeightMatrix } from "@llamats/tensor";
import { buildWeights, type LayerWeights, type Linear, type LlamaWeights, type RawTensor } from "@llamats/model";
import { loadLoraDeltas, openAdapter, type RuntimeLora, type RuntimeLoraDelta, type ReplacementTensor } from "@llamats/lora";
import type { ModelSource } from "@llamats/formats";

const LINEARS: readonly [keyof LayerWeights, string][] = [
  ["attnQ", "attn_q"], ["attnK", "attn_k"], ["attnV", "attn_v"], ["attnOutput", "attn_output"],
  ["ffnGate", "ffn_gate"], ["ffnDown", "ffn_down"], ["ffnUp", "ffn_up"],
];

/** An adapter folder and the factor its deltas are multiplied by (llama.cpp's --lora-scaled; 1 for --lora). */
export interface LoraSpec {
  readonly path: string;
  readonly scale: number;
}

export interface LoadedWithLora {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
}

function toBackend(backend: Backend, bytes: Uint8Array): Uint8Array {
  const dst = backend.allocBytes(bytes.length);
  dst.set(bytes);
  return dst;
}

/**
 * Refuse an adapter made for another base before anything is loaded: every lora_A must take
 * the base tensor's input width and every lora_B give its output width, and replaced
 * embeddings (modules_to_save) must have the base's width. Reads only the adapter's header.
 */
export function checkAdaptersFitBase(source: ModelSource, specs: readonly LoraSpec[]): void {
  const base = new Map(source.tensors.map((t) => [t.name, t.shape]));
  const width = source.config.embeddingLength;
  for (const { path } of specs) {
    const ad = openAdapter(path);
    try {
      const refuse = (what: string): never => {
        throw new LlamatsError(`LoRA ${ad.dir} does not fit the base ${source.path}: ${what}; it was trained on another base model (width ${width} here)`);
      };
      for (const [name, { a, b }] of ad.plan.pairs) {
        const shape = base.get(name);
        if (!shape) refuse(`it targets ${name}, which the base does not have`);
        const colsA = ad.byKey.get(a)!.shape[1], rowsB = ad.byKey.get(b)!.shape[0];
        if (colsA !== shape![shape!.length - 1] || rowsB !== shape![0]) {
          refuse(`${name} is (${shape!.join(", ")}) but the adapter's factors make (${rowsB}, ${colsA})`);
        }
      }
      for (const [name, key] of ad.plan.full) {
        const shape = base.get(name);
        const cols = ad.byKey.get(key)!.shape[1];
        if (shape && cols !== shape[shape.length - 1]) refuse(`its ${name} rows have ${cols} values, the base's ${shape[shape.length - 1]}`);
      }
    } finally {
      ad.close();
    }
  }
}

/** The adapters' deltas (each times its spec's scale) and replacements, in order. */
function loadScaledStack(specs: readonly LoraSpec[], config: LlamaConfig): RuntimeLora {
  const deltas = new Map<string, RuntimeLoraDelta[]>();
  const replacements = new Map<string, ReplacementTensor>();
  let vocabSize: number | undefined;
  for (const spec of specs) {
    const one = loadLoraDeltas(spec.path, config);
    for (const [k, v] of one.deltas) deltas.set(k, [...(deltas.get(k) ?? []), ...v.map((d) => ({ ...d, scale: d.scale * spec.scale }))]);
    for (const [k, v] of one.replacements) replacements.set(k, v); // modules_to_save: whole tensors, not scaled
    vocabSize = one.vocabSize ?? vocabSize;
  }
  return { deltas, replacements, vocabSize };
}

/** Weights of `source` with the adapters in `specs` applied at runtime, in order. */
export function loadWeightsWithLoras(source: ModelSource, backend: Backend, config: LlamaConfig, specs: readonly LoraSpec[]): LoadedWithLora {
  checkAdaptersFitBase(source, specs);
  const rt = loadScaledStack(specs, config);
  if (rt.deltas.size === 0 && rt.replacements.size === 0) throw new LlamatsError(`${specs.map((s) => s.path).join(", ")}: no LoRA weights found`);
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
