// The read-only weights of a LLaMA model under GGUF's canonical names, in GGUF layout
// (Q/K rows interleaved for RoPE). Each linear layer is a WeightMatrix of any type the
// backend supports (F32/F16/BF16, ggml quantised blocks); norms are decoded to Float32Array.
// A linear may carry runtime LoRA deltas, applied as W x + scale · B (A x) by forward().

import { type Backend, type GGMLType, GGMLType as T, LlamatsError, type LlamaConfig, type WeightMatrix, decodeBf16, decodeF16, ggmlRowBytes, ggmlTypeInfo } from "@llamats/tensor";

/** A runtime LoRA delta: a (r, in), b (out, r); the layer computes W x + scale · b(a x). */
export interface LoraDelta {
  readonly a: WeightMatrix; // (r, in)
  readonly b: WeightMatrix; // (out, r)
  readonly scale: number;
}

/** A linear layer's weight (rows = out, cols = in), optionally with LoRA deltas. */
export interface Linear extends WeightMatrix {
  readonly loras?: readonly LoraDelta[];
}

export interface LayerWeights {
  readonly attnNorm: Float32Array; // (dim)
  readonly attnQ: Linear; // (nHeads * headDim, dim)
  readonly attnK: Linear; // (kvDim, dim)
  readonly attnV: Linear; // (kvDim, dim)
  readonly attnOutput: Linear; // (dim, nHeads * headDim)
  readonly ffnNorm: Float32Array; // (dim)
  readonly ffnGate: Linear; // (ffnDim, dim)
  readonly ffnDown: Linear; // (dim, ffnDim)
  readonly ffnUp: Linear; // (ffnDim, dim)
}

export interface LlamaWeights {
  readonly config: LlamaConfig;
  readonly tokenEmbd: WeightMatrix; // (vocab, dim)
  readonly layers: readonly LayerWeights[];
  readonly outputNorm: Float32Array; // (dim)
  /** lm_head (vocab, dim); the token embedding itself when the classifier is tied. */
  readonly output: Linear;
}

/** A tensor as stored: type, row-major shape (outer first), raw bytes. */
export interface RawTensor {
  readonly type: GGMLType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** Fetch a tensor by canonical name, or undefined when the model lacks it. */
export type TensorGetter = (name: string) => RawTensor | undefined;

export class WeightError extends LlamatsError {}

function need(get: TensorGetter, name: string, source: string): RawTensor {
  const t = get(name);
  if (!t) throw new WeightError(`${source}: tensor ${name} is missing`);
  return t;
}

function matrix(get: TensorGetter, name: string, rows: number, cols: number, source: string, backend?: Backend): WeightMatrix {
  const t = need(get, name, source);
  if (t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== cols) {
    throw new WeightError(`${source}: tensor ${name} has shape (${t.shape.join(", ")}), expected (${rows}, ${cols})`);
  }
  const info = ggmlTypeInfo(t.type);
  if (!info) throw new WeightError(`${source}: tensor ${name} has unknown ggml type ${t.type}`);
  if (cols % info.blockSize !== 0) {
    throw new WeightError(`${source}: tensor ${name}: ${cols} columns is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  const want = rows * ggmlRowBytes(t.type, cols);
  if (t.bytes.byteLength !== want) {
    throw new WeightError(`${source}: tensor ${name} holds ${t.bytes.byteLength} bytes, expected ${want} for ${info.name} (${rows}, ${cols})`);
  }
  if (backend && !backend.supports(t.type)) {
    throw new WeightError(`${source}: tensor ${name} is ${info.name}, which the ${backend.name} backend cannot multiply`);
  }
  return { type: t.type, rows, cols, bytes: t.bytes };
}

/** A norm vector decoded to float32 (norms are F32 in GGUF, F16/BF16 in HF/Meta checkpoints). */
function vector(get: TensorGetter, name: string, dim: number, source: string): Float32Array {
  const t = need(get, name, source);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== dim || t.shape.length > 2) throw new WeightError(`${source}: tensor ${name} has shape (${t.shape.join(", ")}), expected (${dim})`);
  const b = t.bytes;
  const copy = () => b.slice(0, b.byteLength).buffer; // aligned copy
  switch (t.type) {
    case T.F32:
      if (b.byteLength !== dim * 4) break;
      return new Float32Array(copy());
    case T.F16:
      if (b.byteLength !== dim * 2) break;
      return decodeF16(new Uint16Array(copy()));
    case T.BF16:
      if (b.byteLength !== dim * 2) break;
      return decodeBf16(new Uint16Array(copy()));
    default:
      throw new WeightError(`${source}: tensor ${name} is ${ggmlTypeInfo(t.type)?.name ?? t.type}; norms must be f32, f16 or bf16`);
  }
  throw new WeightError(`${source}: tensor ${name} holds ${b.byteLength} bytes, wrong for (${dim}) of ${ggmlTypeInfo(t.type)?.name}`);
}

/**
 * Assemble (and check) the weights from tensors fetched by canonical name. The bytes are
 * used as given (no copy): pass bytes the backend can address. A missing output.weight
 * means a tied classifier (llama2.c's shared one): the token embedding is used.
 */
export function buildWeights(config: LlamaConfig, get: TensorGetter, source = "model", backend?: Backend): LlamaWeights {
  const { embeddingLength: dim, headCount: nHeads, keyLength: headDim, feedForwardLength: ffnDim, vocabSize } = config;
  const fetched = new Map<string, RawTensor | undefined>();
  const fetch = get;
  get = (name) => {
    if (!fetched.has(name)) fetched.set(name, fetch(name));
    return fetched.get(name);
  };
  const qDim = nHeads * headDim;
  const kvDim = config.headCountKv * headDim;
  const m = (name: string, rows: number, cols: number) => matrix(get, name, rows, cols, source, backend);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.blockCount; l++) {
    const p = `blk.${l}.`;
    layers.push(Object.freeze({
      attnNorm: vector(get, `${p}attn_norm.weight`, dim, source),
      attnQ: m(`${p}attn_q.weight`, qDim, dim),
      attnK: m(`${p}attn_k.weight`, kvDim, dim),
      attnV: m(`${p}attn_v.weight`, kvDim, dim),
      attnOutput: m(`${p}attn_output.weight`, dim, qDim),
      ffnNorm: vector(get, `${p}ffn_norm.weight`, dim, source),
      ffnGate: m(`${p}ffn_gate.weight`, ffnDim, dim),
      ffnDown: m(`${p}ffn_down.weight`, dim, ffnDim),
      ffnUp: m(`${p}ffn_up.weight`, ffnDim, dim),
    }));
  }
  const tokenEmbd = m("token_embd.weight", vocabSize, dim);
  const output = get("output.weight") ? m("output.weight", vocabSize, dim) : tokenEmbd;
  return Object.freeze({ config, tokenEmbd, layers, outputNorm: vector(get, "output_norm.weight", dim, source), output });
}

/** The minimal view of a model source loadWeights needs (formats' ModelSource fits it). */
export interface WeightSource {
  readonly path: string;
  readonly tensors: readonly { readonly name: string; readonly type: GGMLType; readonly shape: readonly number[]; readonly byteLength: number }[];
  read(name: string, dst?: Uint8Array): Uint8Array;
}

/**
 * Read every tensor the model needs from `source` into bytes allocated by the backend (so
 * its kernels can address them: a shared WebAssembly.Memory, a SharedArrayBuffer).
 * `config` is formats' configFromSource(source) (or the same with other RoPE scaling).
 */
export function loadWeights(source: WeightSource, backend: Backend, config: LlamaConfig): LlamaWeights {
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const get: TensorGetter = (name) => {
    const t = byName.get(name);
    if (!t) return undefined;
    const dst = backend.allocBytes(t.byteLength);
    const bytes = source.read(name, dst);
    return { type: t.type, shape: t.shape, bytes };
  };
  return buildWeights(config, get, source.path, backend);
}
