// LlamaConfig: the frozen hyper-parameters of a LLaMA model, built in this one place from
// whatever a file states: GGUF metadata (`llama.*` keys), Hugging Face config.json, Meta
// params.json or a llama2.c header. What a file leaves out (vocab size in Meta's params.json,
// the FFN width, a tied classifier) is taken from the tensor shapes, which always win when
// both are present. Bad or contradictory values raise a ConfigError naming source and field.

import { LlamatsError } from "@llamats/tensor";

/**
 * RoPE scaling.
 * - none: standard RoPE.
 * - linear: position interpolation, angle uses pos / factor.
 * - ntk: the Chinese-LLaMA-Alpaca NTK patch: base' = base * alpha^(d/(d-2)), d = headDim;
 *   alpha "auto" recomputes alpha = (seqLen/1024 - 1) * 1.1 per forward call once the
 *   sequence is longer than the training context (see rope-scaling.ts).
 */
export type RopeScaling =
  | { readonly type: "none" }
  | { readonly type: "linear"; readonly factor: number }
  | { readonly type: "ntk"; readonly alpha: number | "auto" };

export interface LlamaConfig {
  readonly dim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Dimensions of each head that RoPE rotates (headDim for LLaMA). */
  readonly ropeDim: number;
  readonly ffnDim: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  /** Training context length (2048 for LLaMA-1 / Chinese-LLaMA); NTK "auto" starts past it. */
  readonly contextLength: number;
  readonly ropeScaling: RopeScaling;
}

export class ConfigError extends LlamatsError {
  constructor(readonly source: string, readonly field: string, detail: string) {
    super(`${source}: ${field}: ${detail}`);
  }
}

/** Fields before validation; shapes fill what the file does not say. */
export type LlamaConfigInput = Partial<LlamaConfig>;

/** Shapes of the tensors that pin hyper-parameters down (canonical GGUF names). */
export type TensorShapes = ReadonlyMap<string, readonly number[]>;

function posInt(src: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(src, field, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function posNum(src: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(src, field, `expected a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate, fill from shapes, and freeze. */
export function buildLlamaConfig(input: LlamaConfigInput, source = "config", shapes?: TensorShapes): LlamaConfig {
  const c: Record<string, unknown> = { ...input };
  const embd = shapes?.get("token_embd.weight");
  if (embd && embd.length === 2) {
    if (c.dim !== undefined && c.dim !== embd[1]) {
      throw new ConfigError(source, "dim", `${c.dim} but token_embd.weight has ${embd[1]} columns`);
    }
    c.dim ??= embd[1];
    c.vocabSize = embd[0]; // the embedding is what the forward pass indexes
  }
  const gate = shapes?.get("blk.0.ffn_gate.weight");
  if (gate && gate.length === 2) c.ffnDim = gate[0];
  if (c.nLayers === undefined && shapes) {
    let n = 0;
    while (shapes.has(`blk.${n}.attn_q.weight`)) n++;
    if (n > 0) c.nLayers = n;
  }

  const dim = posInt(source, "dim", c.dim);
  const nHeads = posInt(source, "nHeads", c.nHeads);
  const nKvHeads = posInt(source, "nKvHeads", c.nKvHeads ?? nHeads);
  if (nHeads % nKvHeads !== 0) throw new ConfigError(source, "nKvHeads", `${nHeads} heads is not a multiple of ${nKvHeads} KV heads`);
  const headDim = posInt(source, "headDim", c.headDim ?? dim / nHeads);
  const ropeDim = posInt(source, "ropeDim", c.ropeDim ?? headDim);
  if (ropeDim % 2 !== 0 || ropeDim > headDim) throw new ConfigError(source, "ropeDim", `${ropeDim} must be even and <= headDim ${headDim}`);
  const scaling = (c.ropeScaling ?? { type: "none" }) as RopeScaling;
  checkScaling(source, scaling);
  const config: LlamaConfig = {
    dim,
    nLayers: posInt(source, "nLayers", c.nLayers),
    nHeads,
    nKvHeads,
    headDim,
    ropeDim,
    ffnDim: posInt(source, "ffnDim", c.ffnDim),
    vocabSize: posInt(source, "vocabSize", c.vocabSize),
    rmsNormEps: posNum(source, "rmsNormEps", c.rmsNormEps ?? 1e-6),
    ropeTheta: posNum(source, "ropeTheta", c.ropeTheta ?? 10000),
    contextLength: posInt(source, "contextLength", c.contextLength ?? 2048),
    ropeScaling: Object.freeze({ ...scaling }),
  };
  return Object.freeze(config);
}

function checkScaling(source: string, s: RopeScaling): void {
  if (s.type === "none") return;
  if (s.type === "linear") {
    posNum(source, "ropeScaling.factor", s.factor);
    return;
  }
  if (s.type === "ntk") {
    if (s.alpha !== "auto") posNum(source, "ropeScaling.alpha", s.alpha);
    return;
  }
  throw new ConfigError(source, "ropeScaling.type", `unknown type ${JSON.stringify((s as { type: unknown }).type)}`);
}

/** The same config with another RoPE scaling (e.g. the CLI's --alpha). */
export function withRopeScaling(config: LlamaConfig, ropeScaling: RopeScaling): LlamaConfig {
  return buildLlamaConfig({ ...config, ropeScaling }, "ropeScaling");
}

/** Parse a CLI-style alpha: a positive number or "auto". */
export function ntkScaling(alpha: number | string): RopeScaling {
  if (alpha === "auto") return { type: "ntk", alpha: "auto" };
  const a = typeof alpha === "number" ? alpha : Number(alpha);
  if (!Number.isFinite(a) || a <= 0) throw new ConfigError("--alpha", "alpha", `expected a positive number or "auto", got ${JSON.stringify(alpha)}`);
  return a === 1 ? { type: "none" } : { type: "ntk", alpha: a };
}
