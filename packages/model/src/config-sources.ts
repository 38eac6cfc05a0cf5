// Readers of the four ways a model file states its hyper-parameters, all feeding
// buildLlamaConfig: GGUF metadata (`<arch>.*` keys, llama.cpp's names), Hugging Face
// config.json, Meta params.json and the llama2.c header (7 int32 fields).

import { type LlamaConfig, type LlamaConfigInput, type RopeScaling, type TensorShapes, ConfigError, buildLlamaConfig } from "./config.js";

type Meta = Record<string, unknown>;

/** GGUF stores 64-bit integers as bigint; everything here fits a double. */
function num(v: unknown): number | undefined {
  if (typeof v === "bigint") return Number(v);
  return typeof v === "number" ? v : undefined;
}

export function configFromGguf(meta: Meta, source = "gguf", shapes?: TensorShapes): LlamaConfig {
  const arch = typeof meta["general.architecture"] === "string" ? (meta["general.architecture"] as string) : "llama";
  if (arch !== "llama") throw new ConfigError(source, "general.architecture", `"${arch}" is not supported (only "llama")`);
  const k = (key: string) => num(meta[`${arch}.${key}`]);
  const tokens = meta["tokenizer.ggml.tokens"];
  const headCount = k("attention.head_count");
  const dim = k("embedding_length");
  const keyLength = k("attention.key_length");
  let ropeScaling: RopeScaling = { type: "none" };
  const scalingType = meta[`${arch}.rope.scaling.type`];
  const factor = k("rope.scaling.factor") ?? (k("rope.scale_linear"));
  if (scalingType === "linear" || (scalingType === undefined && factor !== undefined && factor !== 1)) {
    ropeScaling = { type: "linear", factor: factor ?? 1 };
  } else if (scalingType !== undefined && scalingType !== "none") {
    throw new ConfigError(source, `${arch}.rope.scaling.type`, `"${String(scalingType)}" is not supported`);
  }
  const input: LlamaConfigInput = {
    dim,
    nLayers: k("block_count"),
    nHeads: headCount,
    nKvHeads: k("attention.head_count_kv"),
    headDim: keyLength,
    ropeDim: k("rope.dimension_count"),
    ffnDim: k("feed_forward_length"),
    vocabSize: k("vocab_size") ?? (Array.isArray(tokens) ? tokens.length : undefined),
    rmsNormEps: k("attention.layer_norm_rms_epsilon"),
    ropeTheta: k("rope.freq_base"),
    contextLength: k("context_length"),
    ropeScaling,
  };
  return buildLlamaConfig(input, source, shapes);
}

export function configFromHf(json: Meta, source = "config.json", shapes?: TensorShapes): LlamaConfig {
  let ropeScaling: RopeScaling = { type: "none" };
  const rs = json.rope_scaling as Meta | null | undefined;
  if (rs && typeof rs === "object") {
    const type = rs.type ?? rs.rope_type;
    if (type === "linear") ropeScaling = { type: "linear", factor: num(rs.factor) ?? NaN };
    else throw new ConfigError(source, "rope_scaling.type", `"${String(type)}" is not supported (use --alpha for NTK scaling)`);
  }
  const nHeads = num(json.num_attention_heads);
  return buildLlamaConfig({
    dim: num(json.hidden_size),
    nLayers: num(json.num_hidden_layers),
    nHeads,
    nKvHeads: num(json.num_key_value_heads) ?? nHeads,
    headDim: num(json.head_dim),
    ffnDim: num(json.intermediate_size),
    vocabSize: num(json.vocab_size),
    rmsNormEps: num(json.rms_norm_eps),
    ropeTheta: num(json.rope_theta),
    contextLength: num(json.max_position_embeddings),
    ropeScaling,
  }, source, shapes);
}

/** Meta params.json; vocab_size is -1 there, so the embedding's rows decide. */
export function configFromMeta(json: Meta, source = "params.json", shapes?: TensorShapes): LlamaConfig {
  const dim = num(json.dim);
  let ffnDim: number | undefined;
  if (dim !== undefined) {
    // llama/model.py FeedForward: int(2 * 4d / 3), times ffn_dim_multiplier, rounded up to multiple_of.
    const multipleOf = num(json.multiple_of) ?? 256;
    let hidden = Math.floor((2 * 4 * dim) / 3);
    const mult = num(json.ffn_dim_multiplier);
    if (mult !== undefined) hidden = Math.floor(mult * hidden);
    ffnDim = multipleOf * Math.ceil(hidden / multipleOf);
  }
  const vocab = num(json.vocab_size);
  return buildLlamaConfig({
    dim,
    nLayers: num(json.n_layers),
    nHeads: num(json.n_heads),
    nKvHeads: num(json.n_kv_heads) ?? num(json.n_heads),
    ffnDim,
    vocabSize: vocab !== undefined && vocab > 0 ? vocab : undefined,
    rmsNormEps: num(json.norm_eps),
    ropeTheta: num(json.rope_theta),
    contextLength: num(json.max_seq_len) ?? 2048,
  }, source, shapes);
}

/** llama2.c header fields (snake_case as run.c names them, or camelCase). rmsnorm eps is 1e-5 in run.c. */
export function configFromLlama2c(h: Meta, source = "llama2.c header", shapes?: TensorShapes): LlamaConfig {
  const f = (snake: string, camel: string) => num(h[snake] ?? h[camel]);
  const vocab = f("vocab_size", "vocabSize");
  return buildLlamaConfig({
    dim: f("dim", "dim"),
    nLayers: f("n_layers", "nLayers"),
    nHeads: f("n_heads", "nHeads"),
    nKvHeads: f("n_kv_heads", "nKvHeads"),
    ffnDim: f("hidden_dim", "hiddenDim"),
    vocabSize: vocab === undefined ? undefined : Math.abs(vocab),
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    contextLength: f("seq_len", "seqLen"),
  }, source, shapes);
}

/** The minimal view of a model source the config needs (formats' ModelSource fits it). */
export interface ConfigSource {
  readonly format: string;
  readonly path: string;
  readonly metadata: Record<string, unknown>;
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

export function configFromSource(src: ConfigSource): LlamaConfig {
  const shapes = new Map(src.tensors.map((t) => [t.name, t.shape]));
  switch (src.format) {
    case "gguf":
      return configFromGguf(src.metadata, src.path, shapes);
    case "hf":
    case "safetensors":
      return configFromHf(src.metadata, src.path, shapes);
    case "meta":
      return configFromMeta(src.metadata, src.path, shapes);
    case "llama2c":
      return configFromLlama2c(src.metadata, src.path, shapes);
    default:
      throw new ConfigError(src.path, "format", `unknown model format "${src.format}"`);
  }
}
