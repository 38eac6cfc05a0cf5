// Model writers to safetensors:
// - writeSafetensorsFromSource: one file, canonical (GGUF) names and layout, hyper-parameters
//   in __metadata__ as "llama.*" strings (read back by openModelSource).
// - writeHfFromSource: a Hugging Face folder (config.json, model.safetensors with HF names,
//   Q/K permuted back to rotate-half, tokenizer.model copied), written into OUT.tmp-<pid>
//   and renamed onto OUT when complete.

import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { GGMLType, LlamatsError, ggmlTypeInfo, writeDirAtomically, writeFileAtomic, type LlamaConfigInput, type ProgressCallback } from "@llamats/tensor";
import { hfFromCanonical, qkKind } from "../names.js";
import { permuteQkRows } from "../permute.js";
import { safetensorsDtypeOfGgml, writeSafetensors, type SafetensorsWriteTensor } from "../safetensors.js";
import type { ModelSource, SourceTensor } from "../source/types.js";
import { convertTensorBytes } from "./dtype.js";
import { tokenizerModelFromGguf } from "./tokenizer-export.js";

export interface WriteSafetensorsFromSourceOptions {
  typeFor?(t: SourceTensor): GGMLType;
  onProgress?: ProgressCallback;
}

/**
 * Default target types for torch-style layouts (HF, Meta): each tensor keeps its type, except
 * that 1-D F32 tensors of a GGUF source take the matrices' F16/BF16 type again — the GGUF
 * writer widened them (defaultGgufType), so HF -> GGUF -> HF gives back the original bytes.
 */
export function torchLayoutTypes(source: ModelSource): (t: SourceTensor) => GGMLType {
  const q = source.tensors.find((t) => t.name === "blk.0.attn_q.weight") ?? source.tensors.find((t) => t.shape.length >= 2);
  const narrow = source.format === "gguf" && q && (q.type === GGMLType.F16 || q.type === GGMLType.BF16) ? q.type : undefined;
  return (t) => (narrow !== undefined && t.shape.length < 2 && t.type === GGMLType.F32 ? narrow : t.type);
}

function plan(source: ModelSource, opts: WriteSafetensorsFromSourceOptions, nameOf: (t: SourceTensor) => string | undefined, defaults?: (t: SourceTensor) => GGMLType) {
  return source.tensors.flatMap((t) => {
    const name = nameOf(t);
    if (!name) return [];
    const type = opts.typeFor?.(t) ?? defaults?.(t) ?? t.type;
    const dtype = safetensorsDtypeOfGgml(type);
    if (!dtype) {
      throw new LlamatsError(`tensor ${t.name}: ${ggmlTypeInfo(type)?.name ?? type} cannot be stored in safetensors (choose --dtype f32, f16 or bf16)`);
    }
    return [{ t, name, type, dtype }];
  });
}

function progress(cb: ProgressCallback | undefined) {
  return cb ? (done: number, total: number, label: string) => cb({ done, total, unit: "bytes", label }) : undefined;
}

/** The stated hyper-parameters as "llama.*" strings (GGUF's keys) in __metadata__, which the safetensors reader reads back. */
export function hparamMetadata(hp: LlamaConfigInput): Record<string, string> {
  const keys: [Exclude<keyof LlamaConfigInput, "ropeScaling">, string][] = [
    ["vocabSize", "vocab_size"], ["contextLength", "context_length"], ["embeddingLength", "embedding_length"],
    ["blockCount", "block_count"], ["feedForwardLength", "feed_forward_length"], ["headCount", "attention.head_count"],
    ["headCountKv", "attention.head_count_kv"], ["keyLength", "attention.key_length"], ["layerNormRmsEpsilon", "attention.layer_norm_rms_epsilon"],
    ["ropeFreqBase", "rope.freq_base"], ["ropeDimensionCount", "rope.dimension_count"],
  ];
  const md: Record<string, string> = { format: "llamats", "general.architecture": "llama" };
  for (const [f, k] of keys) if (hp[f] !== undefined) md[`llama.${k}`] = String(hp[f]);
  if (hp.ropeScaling?.type === "linear") {
    md["llama.rope.scaling.type"] = "linear";
    md["llama.rope.scaling.factor"] = String(hp.ropeScaling.factor);
  }
  return md;
}

export function writeSafetensorsFromSource(source: ModelSource, outPath: string, opts: WriteSafetensorsFromSourceOptions = {}): number {
  const items = plan(source, opts, (t) => t.name);
  const tensors: SafetensorsWriteTensor[] = items.map(({ t, type, dtype }) => ({
    name: t.name, dtype, shape: t.shape,
    data: () => convertTensorBytes(source.read(t.name), t.type, type, t.shape),
  }));
  return writeSafetensors(outPath, tensors, hparamMetadata(source.config), progress(opts.onProgress));
}

/** config.json for a LLaMA in HF layout. */
export function hfConfig(hp: LlamaConfigInput, torchDtype: string, tieWordEmbeddings = false): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: "silu",
    hidden_size: hp.embeddingLength,
    intermediate_size: hp.feedForwardLength,
    max_position_embeddings: hp.contextLength ?? 2048,
    model_type: "llama",
    num_attention_heads: hp.headCount,
    num_hidden_layers: hp.blockCount,
    num_key_value_heads: hp.headCountKv ?? hp.headCount,
    rms_norm_eps: hp.layerNormRmsEpsilon ?? 1e-6,
    ...(hp.ropeFreqBase !== undefined ? { rope_theta: hp.ropeFreqBase } : {}),
    ...(hp.keyLength !== undefined ? { head_dim: hp.keyLength } : {}),
    ...(hp.ropeScaling?.type === "linear" ? { rope_scaling: { type: "linear", factor: hp.ropeScaling.factor } } : {}),
    tie_word_embeddings: tieWordEmbeddings,
    torch_dtype: torchDtype,
    vocab_size: hp.vocabSize,
  };
}

/** Copy the source's tokenizer.model into `dir`, or rebuild one from GGUF metadata. */
export function writeTokenizerBeside(source: ModelSource, dir: string): void {
  const dst = join(dir, "tokenizer.model");
  if (existsSync(dst)) return;
  if (source.tokenizerPath) {
    copyFileSync(source.tokenizerPath, dst);
    return;
  }
  if (source.format !== "gguf") return;
  const bytes = tokenizerModelFromGguf(source.path, source.metadata);
  if (bytes) writeFileAtomic(dst, bytes);
}

export function writeHfFromSource(source: ModelSource, outDir: string, opts: WriteSafetensorsFromSourceOptions = {}): string {
  const hp = source.config;
  if (!hp.headCount) throw new LlamatsError(`${source.path}: head count unknown, cannot write HF Q/K layout`);
  const items = plan(source, opts, (t) => hfFromCanonical(t.name), torchLayoutTypes(source));
  const tensors: SafetensorsWriteTensor[] = items.map(({ t, name, type, dtype }) => ({
    name, dtype, shape: t.shape,
    data: () => {
      const bytes = convertTensorBytes(source.read(t.name), t.type, type, t.shape);
      const qk = qkKind(t.name);
      if (!qk) return bytes;
      const heads = qk === "q" ? hp.headCount! : (hp.headCountKv ?? hp.headCount!);
      return permuteQkRows(bytes, t.shape[0], heads, "interleavedToHf");
    },
  }));
  const weightTypes = items.filter((i) => i.t.shape.length >= 2).map((i) => i.type);
  const torchDtype = weightTypes.includes(GGMLType.F16) ? "float16" : weightTypes.includes(GGMLType.BF16) ? "bfloat16" : "float32";
  const tied = !source.tensors.some((t) => t.name === "output.weight");
  const config = source.format === "hf" && opts.typeFor === undefined ? source.metadata : hfConfig(hp, torchDtype, tied);

  if (existsSync(outDir)) throw new LlamatsError(`${outDir}: already exists`);
  writeDirAtomically(outDir, (tmp) => {
    writeFileAtomic(join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
    writeSafetensors(join(tmp, "model.safetensors"), tensors, { format: "pt" }, progress(opts.onProgress));
    writeTokenizerBeside(source, tmp);
  });
  return outDir;
}
