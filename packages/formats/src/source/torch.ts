// ModelSources over PyTorch checkpoints (read by ../torch/ and ../meta.ts):
// - HF pytorch_model*.bin folders (+ index): HF names, Q/K permuted to interleaved on read;
// - Meta folders (params.json + consolidated.NN.pth, shards re-joined by meta.ts): Meta
//   names, already interleaved;
// - PEFT adapters (adapter_config.json + adapter_model.bin): tensors passed through under
//   their own names (the LoRA package maps them with canonicalFromPeft), for inspection.

import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FormatError, GGMLType } from "@llamats/tensor";
import { openMetaCheckpoint } from "../meta.js";
import { canonicalFromHf, canonicalFromMeta, canonicalOrder } from "../names.js";
import { openTorchCheckpoint } from "../torch/checkpoint.js";
import type { TorchCheckpoint, TorchDType } from "../torch/types.js";
import { buildSource, type SourceEntry } from "./build.js";
import { findTokenizer, hfEntries, readJsonFile } from "./hf.js";
import { completeFromShapes, hparamsFromHfConfig, hparamsFromMetaParams } from "./hparams.js";
import type { ExtraTensor, ModelSource, SourceFormat } from "./types.js";

const TORCH_TO_GGML: Partial<Record<TorchDType, GGMLType>> = {
  f64: GGMLType.F64, f32: GGMLType.F32, f16: GGMLType.F16, bf16: GGMLType.BF16,
  i64: GGMLType.I64, i32: GGMLType.I32, i16: GGMLType.I16, i8: GGMLType.I8,
};

export function ggmlTypeOfTorch(dtype: TorchDType): GGMLType | undefined {
  return TORCH_TO_GGML[dtype];
}

function torchTensors(ck: TorchCheckpoint) {
  return ck.tensors.map((t) => ({
    name: t.name, type: ggmlTypeOfTorch(t.dtype), shape: t.shape, byteLength: t.byteLength, file: t.file,
    read: (dst?: Uint8Array) => ck.read(t.name, dst),
  }));
}

function hfFromCheckpoint(path: string, ck: TorchCheckpoint, cfgDir: string, format: SourceFormat): ModelSource {
  const cfgPath = join(cfgDir, "config.json");
  if (!existsSync(cfgPath)) throw new FormatError(path, "config.json", 0, "Hugging Face tensors need config.json beside them (head counts)");
  const cfg = readJsonFile(cfgPath);
  const hp = hparamsFromHfConfig(cfgPath, cfg);
  const extras: ExtraTensor[] = [];
  const entries = hfEntries(path, torchTensors(ck), hp, extras);
  return buildSource({
    format, path, metadata: cfg, config: completeFromShapes(path, hp, entries.map((e) => e.tensor)),
    entries, extras, tokenizerPath: findTokenizer(cfgDir), close: () => ck.close(),
  });
}

function guard<T extends { close(): void }>(ck: T, body: (ck: T) => ModelSource): ModelSource {
  try {
    return body(ck);
  } catch (err) {
    ck.close();
    throw err;
  }
}

/** An HF folder of pytorch_model*.bin (or its pytorch_model.bin.index.json). */
export function openHfTorchFolder(path: string): ModelSource {
  const dir = path.endsWith(".json") ? dirname(path) : path;
  return guard(openTorchCheckpoint(path), (ck) => hfFromCheckpoint(path, ck, dir, "hf"));
}

/** A Meta folder, or one consolidated.NN.pth with params.json beside it. */
export function openMetaFolder(path: string): ModelSource {
  return guard(openMetaCheckpoint(path), (ck) => {
    const entries: SourceEntry[] = [];
    for (const t of ck.tensors) {
      const name = canonicalFromMeta(t.name);
      if (!name) continue; // rope.freqs
      const type = ggmlTypeOfTorch(t.dtype);
      if (type === undefined) throw new FormatError(path, `tensor "${t.name}"`, 0, `dtype ${t.dtype} has no ggml equivalent`);
      entries.push({
        tensor: { name, type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name },
        readRaw: (dst) => ck.read(t.name, dst),
      });
    }
    entries.sort((a, b) => canonicalOrder(a.tensor.name, b.tensor.name));
    const dir = existsSync(join(path, "params.json")) ? path : dirname(path);
    const hp = hparamsFromMetaParams(ck.params);
    return buildSource({
      format: "meta", path, metadata: { ...ck.params, n_shards: ck.nShards },
      config: completeFromShapes(path, hp, entries.map((e) => e.tensor)),
      // Meta's layout keeps tokenizer.model one level up (zh-models/tokenizer.model beside 7B/).
      entries, tokenizerPath: findTokenizer(dir, dirname(dir)), close: () => ck.close(),
    });
  });
}

/** One Meta-named .pth without params.json: tensors mapped, hyper-parameters from shapes only. */
function metaWithoutParams(path: string, ck: TorchCheckpoint): ModelSource {
  const entries: SourceEntry[] = torchTensors(ck).flatMap((t) => {
    const name = canonicalFromMeta(t.name);
    if (!name || t.type === undefined) return [];
    return [{ tensor: { name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name }, readRaw: t.read }];
  });
  entries.sort((a, b) => canonicalOrder(a.tensor.name, b.tensor.name));
  return buildSource({
    format: "meta", path, metadata: {}, config: completeFromShapes(path, {}, entries.map((e) => e.tensor)),
    entries, tokenizerPath: findTokenizer(dirname(path)), close: () => ck.close(),
  });
}

/** A PEFT adapter folder or adapter_model.bin: tensors under their own names. */
export function openPeftSource(path: string): ModelSource {
  const isDir = !basename(path).includes(".");
  const dir = isDir ? path : dirname(path);
  const cfgPath = join(dir, "adapter_config.json");
  const metadata = existsSync(cfgPath) ? readJsonFile(cfgPath) : {};
  return guard(openTorchCheckpoint(path), (ck) => {
    const entries: SourceEntry[] = torchTensors(ck).flatMap((t) => t.type === undefined ? [] : [{
      tensor: { name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name },
      readRaw: t.read,
    }]);
    return buildSource({ format: "peft", path, metadata, config: {}, entries, tokenizerPath: findTokenizer(dir), close: () => ck.close() });
  });
}

/** A single torch.save file: Meta (params.json beside it), PEFT, or an HF shard. */
export function openTorchFileSource(path: string, format?: SourceFormat): ModelSource {
  const dir = dirname(path);
  if (format === "meta" || (format !== "hf" && existsSync(join(dir, "params.json")))) return openMetaFolder(path);
  return guard(openTorchCheckpoint(path), (ck) => {
    if (ck.tensors.some((t) => t.name.startsWith("base_model.model."))) {
      ck.close();
      return openPeftSource(path);
    }
    if (ck.tensors.some((t) => canonicalFromHf(t.name))) return hfFromCheckpoint(path, ck, dir, "hf");
    if (ck.tensors.some((t) => canonicalFromMeta(t.name))) return metaWithoutParams(path, ck);
    throw new FormatError(path, "state dict", 0, "neither Hugging Face nor Meta tensor names (Meta files need params.json beside them)");
  });
}
