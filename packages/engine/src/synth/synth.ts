// The synthetic model builder behind `llamats synth` and `llamats demo`: a real LLaMA
// architecture (SYNTH_SHAPES) with seeded weights and the embedded tokenizer, written as GGUF
// by the formats package's streaming writer. Tensors are generated when the writer reaches
// them, in row chunks, and encoded to the requested type (F32/F16/BF16 by the tensor codecs,
// quantised types by @llamats/quant), so a 7B file (4-14 GB) is written in bounded memory.
// Same (shape, type, seed) -> same bytes.

import { GGMLType, LlamatsError, encodeBf16, encodeF16, ggmlRowBytes, ggmlTypeByName, type ProgressCallback } from "@llamats/tensor";
import { GgufValueType, gguf, writeGguf, type GgufKV, type GgufWriteTensor } from "@llamats/formats";
import { quantizeRows } from "@llamats/quant";
import { SYNTH_SHAPES, isSynthShapeName, type SynthShape, type SynthShapeName } from "./shapes.js";
import { embeddedVocab, type EmbeddedVocab } from "./vocab.js";
import { synthTensorSpecs, tensorRowGenerator, type SynthTensorSpec } from "./weights.js";

export type SynthType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_1" | "q5_0" | "q5_1" | "q6_k" | "q4_k" | "q5_k";

export interface SynthOptions {
  readonly shape: SynthShapeName | SynthShape | string;
  /** Type of every 2-D weight ("pure", as the REFERENCES.md speed table); norms stay F32. */
  readonly type?: SynthType | string;
  readonly seed?: number;
  readonly onProgress?: ProgressCallback;
}

/** Bumped whenever the weights or vocabulary a seed produces change (stored as llamats.synth.version). */
export const SYNTH_VERSION = 2;

/** llama.cpp's general.file_type (enum llama_ftype) per weight type. */
const FILE_TYPE: Record<string, number> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q4_k: 15, q5_k: 17, q6_k: 18, bf16: 32,
};

export function resolveSynthShape(shape: SynthShapeName | SynthShape | string): SynthShape {
  if (typeof shape !== "string") return shape;
  if (!isSynthShapeName(shape)) throw new LlamatsError(`unknown synthetic shape "${shape}" (want tiny, 1b or 7b)`);
  return SYNTH_SHAPES[shape];
}

export function resolveSynthType(type: string): GGMLType {
  const info = ggmlTypeByName(type);
  if (!info || !(type.toLowerCase() in FILE_TYPE)) {
    throw new LlamatsError(`unsupported synthetic weight type "${type}" (want one of ${Object.keys(FILE_TYPE).join(", ")})`);
  }
  return info.id;
}

/** The embedded vocabulary sized for a shape. */
export function synthVocab(s: SynthShape): EmbeddedVocab {
  return embeddedVocab(s.vocabSize);
}

/** GGUF metadata of a synthetic model: llama.cpp's llama.* keys and tokenizer.ggml.*. */
export function synthMetadata(s: SynthShape, typeName: string, seed: number): GgufKV[] {
  const v = synthVocab(s);
  const headDim = s.embeddingLength / s.headCount;
  return [
    gguf.str("general.architecture", "llama"),
    gguf.str("general.name", `llamats-synthetic-${s.name}-seed${seed}`),
    gguf.u32("general.file_type", FILE_TYPE[typeName.toLowerCase()]),
    gguf.u32("llamats.synth.version", SYNTH_VERSION),
    gguf.u32("llama.context_length", s.contextLength),
    gguf.u32("llama.embedding_length", s.embeddingLength),
    gguf.u32("llama.block_count", s.blockCount),
    gguf.u32("llama.feed_forward_length", s.feedForwardLength),
    gguf.u32("llama.rope.dimension_count", headDim),
    gguf.u32("llama.attention.head_count", s.headCount),
    gguf.u32("llama.attention.head_count_kv", s.headCountKv),
    gguf.f32("llama.attention.layer_norm_rms_epsilon", s.layerNormRmsEpsilon),
    gguf.f32("llama.rope.freq_base", s.ropeFreqBase),
    gguf.u32("llama.vocab_size", s.vocabSize),
    gguf.str("tokenizer.ggml.model", "llama"),
    gguf.array("tokenizer.ggml.tokens", GgufValueType.STRING, v.pieces.map((p) => p.piece)),
    gguf.array("tokenizer.ggml.scores", GgufValueType.FLOAT32, v.pieces.map((p) => p.score)),
    gguf.array("tokenizer.ggml.token_type", GgufValueType.INT32, v.pieces.map((p) => p.type)),
    gguf.u32("tokenizer.ggml.unknown_token_id", v.unkId),
    gguf.u32("tokenizer.ggml.bos_token_id", v.bosId),
    gguf.u32("tokenizer.ggml.eos_token_id", v.eosId),
    gguf.bool("tokenizer.ggml.add_bos_token", true),
    gguf.bool("tokenizer.ggml.add_eos_token", false),
  ];
}

/** Rows per generated chunk: about 4 M values (16 MiB of float32). */
function chunkRows(cols: number): number {
  return Math.max(1, Math.floor((4 << 20) / cols));
}


/** Encode `rows` float32 rows of `cols` into dst (rows * rowBytes bytes) as `type`. */
function encodeRows(type: GGMLType, src: Float32Array, rows: number, cols: number, dst: Uint8Array): void {
  const n = rows * cols;
  if (type === GGMLType.F32) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, n * 4));
  } else if (type === GGMLType.F16 || type === GGMLType.BF16) {
    const u16 = (type === GGMLType.F16 ? encodeF16 : encodeBf16)(src.subarray(0, n));
    dst.set(new Uint8Array(u16.buffer, u16.byteOffset, n * 2));
  } else {
    const out = quantizeRows(type, src.subarray(0, n), rows, cols, dst);
    if (out !== dst && (out.buffer !== dst.buffer || out.byteOffset !== dst.byteOffset)) dst.set(out);
  }
}

/** The tensor as GGUF bytes of `type`, generated chunk by chunk. */
export function synthTensorBytes(spec: SynthTensorSpec, type: GGMLType, seed: number): Uint8Array {
  const rows = spec.shape.length === 1 ? 1 : spec.shape[0];
  const cols = spec.shape.length === 1 ? spec.shape[0] : spec.shape[1];
  const rowBytes = ggmlRowBytes(type, cols);
  const out = new Uint8Array(rows * rowBytes);
  const gen = tensorRowGenerator(spec, seed);
  const step = chunkRows(cols);
  const buf = new Float32Array(Math.min(step, rows) * cols);
  for (let r0 = 0; r0 < rows; r0 += step) {
    const n = Math.min(step, rows - r0);
    gen(buf, r0, n);
    encodeRows(type, buf, n, cols, out.subarray(r0 * rowBytes, (r0 + n) * rowBytes));
  }
  return out;
}

/** Write a synthetic model as GGUF. Returns the file size in bytes. */
export function writeSyntheticModel(outPath: string, opts: SynthOptions): number {
  const shape = resolveSynthShape(opts.shape);
  const typeName = (opts.type ?? "f16").toLowerCase();
  const type = resolveSynthType(typeName);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new LlamatsError(`seed ${seed} is not a non-negative integer`);
  const tensors: GgufWriteTensor[] = synthTensorSpecs(shape).map((spec) => {
    const t = spec.shape.length === 1 ? GGMLType.F32 : type;
    return { name: spec.name, type: t, shape: spec.shape, data: () => synthTensorBytes(spec, t, seed) };
  });
  const kv = synthMetadata(shape, typeName, seed);
  if (ggmlTypeByName(typeName)?.quantized) kv.push(gguf.u32("general.quantization_version", 2));
  return writeGguf(outPath, { kv, tensors, onProgress: opts.onProgress });
}
