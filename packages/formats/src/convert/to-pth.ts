// writeMetaFromSource: a model as Meta's consolidated.NN.pth + params.json (through the
// torch writer in ../meta.ts), Meta names, Q/K already interleaved as in every source.

import { basename, join } from "node:path";
import { GGMLType, LlamatsError, ggmlTypeInfo, writeDirAtomically, type ProgressCallback } from "@llamats/tensor";
import { multipleOfFor, writeMetaCheckpoint, type MetaParams } from "../meta.js";
import { metaFromCanonical } from "../names.js";
import type { ModelSource, SourceTensor } from "../source/types.js";
import type { TorchDType, TorchTensorInput } from "../torch/types.js";
import { convertTensorBytes } from "./dtype.js";
import { torchLayoutTypes, writeTokenizerBeside } from "./to-safetensors.js";

const GGML_TO_TORCH: Partial<Record<number, TorchDType>> = {
  [GGMLType.F64]: "f64", [GGMLType.F32]: "f32", [GGMLType.F16]: "f16", [GGMLType.BF16]: "bf16",
  [GGMLType.I64]: "i64", [GGMLType.I32]: "i32", [GGMLType.I16]: "i16", [GGMLType.I8]: "i8",
};

/** The torch dtype that stores a ggml float/int type, or undefined (quantised types). */
export function torchDtypeOfGgml(type: GGMLType): TorchDType | undefined {
  return GGML_TO_TORCH[type];
}

export interface WriteMetaFromSourceOptions {
  typeFor?(t: SourceTensor): GGMLType;
  /** Model-parallel shards (default 1). */
  nShards?: number;
  onProgress?: ProgressCallback;
}

export function metaParamsFromSource(source: ModelSource): MetaParams {
  const hp = source.config;
  if (!hp.embeddingLength || !hp.headCount || !hp.blockCount) throw new LlamatsError(`${source.path}: dim, head count or layer count unknown, cannot write params.json`);
  // Meta's loader derives the ffn width from dim and multiple_of: pick the multiple_of that
  // gives this model's width (256 only fits the published sizes).
  const ffn = hp.feedForwardLength ?? source.tensors.find((t) => t.name === "blk.0.ffn_gate.weight")?.shape[0];
  const multipleOf = ffn === undefined ? 256 : multipleOfFor(hp.embeddingLength, ffn);
  if (multipleOf === undefined) throw new LlamatsError(`${source.path}: ffn width ${ffn} is not what Meta's formula gives for dim ${hp.embeddingLength} with any multiple_of; params.json cannot describe it`);
  const p: MetaParams = { dim: hp.embeddingLength, multiple_of: multipleOf, n_heads: hp.headCount, n_layers: hp.blockCount, norm_eps: hp.layerNormRmsEpsilon ?? 1e-6, vocab_size: -1 };
  if (hp.headCountKv !== undefined && hp.headCountKv !== hp.headCount) p.n_kv_heads = hp.headCountKv;
  if (hp.ropeFreqBase !== undefined && hp.ropeFreqBase !== 10000) p.rope_theta = hp.ropeFreqBase;
  return p;
}

export function writeMetaFromSource(source: ModelSource, outDir: string, opts: WriteMetaFromSourceOptions = {}): string[] {
  const defaults = torchLayoutTypes(source);
  const tensors: TorchTensorInput[] = source.tensors.flatMap((t) => {
    const name = metaFromCanonical(t.name);
    if (!name) return [];
    const type = opts.typeFor?.(t) ?? defaults(t);
    const dtype = GGML_TO_TORCH[type];
    if (!dtype) throw new LlamatsError(`tensor ${t.name}: ${ggmlTypeInfo(type)?.name ?? type} cannot be stored in a .pth (choose --dtype f32, f16 or bf16)`);
    return [{ name, dtype, shape: t.shape, data: () => convertTensorBytes(source.read(t.name), t.type, type, t.shape) }];
  });
  const params = metaParamsFromSource(source);
  return writeDirAtomically(outDir, (tmp) => {
    const files = writeMetaCheckpoint(tmp, params, tensors, { nShards: opts.nShards ?? 1, onProgress: opts.onProgress });
    writeTokenizerBeside(source, tmp);
    return files.map((f) => join(outDir, basename(f)));
  });
}
