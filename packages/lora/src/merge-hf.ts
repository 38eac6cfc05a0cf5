// Streaming merge into a Hugging Face folder, the way the seed's low-mem script works:
// base shard by base shard, tensor by tensor: for each LoRA in order, replace the tensor by
// the adapter's full copy (modules_to_save), then add its LoRA delta; write it; drop it.
// Peak memory is the largest tensor (plus its float32 delta) and the adapter's factors for
// that tensor, not the model. Output shards keep the input shard names (safetensors, or
// torch.save `.bin` with --hf-bin), with config.json (new vocab_size), the index (total
// size), generation_config.json and the last LoRA's tokenizer files.

import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { f32ToF16, LlamatsError, type ProgressCallback } from "@llamats/tensor";
import { writeSafetensors, writeTorchCheckpoint } from "@llamats/formats";
import type { Adapter } from "./adapter.js";
import { tokenizerSourceDir } from "./checks.js";
import { outputShardName, type BaseModel } from "./base-model.js";
import { mergeTensor, type LoraFactors } from "./merge.js";
import { bytesToF16, elemBytes, f16ToBytes, safetensorsDtypeOf, toF32, type ElemType, type TensorRef } from "./tensor-files.js";

export interface MergeStats {
  tensorsMerged: number;
  tensorsReplaced: number;
  /** Per LoRA: elements whose f16 bits its delta changed. */
  changedPerLora: number[];
  peakRssBytes: number;
}

interface OutTensor {
  readonly name: string;
  readonly dtype: ElemType;
  readonly shape: readonly number[];
  produce(): Uint8Array;
}

export interface HfMergeOptions {
  hfBin?: boolean;
  onProgress?: ProgressCallback;
  /** Verbose per-tensor log (the seed's --verbose). */
  log?: (line: string) => void;
}

export const TOKENIZER_FILES = ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

function sampleRss(stats: MergeStats): void {
  const rss = process.memoryUsage.rss();
  if (rss > stats.peakRssBytes) stats.peakRssBytes = rss;
}

/** Index of the first NaN/Inf in little-endian f16 bytes (exponent bits all ones), or -1. */
function firstNonFiniteF16(bytes: Uint8Array): number {
  for (let i = 1; i < bytes.length; i += 2) if ((bytes[i] & 0x7c) === 0x7c) return i >> 1;
  return -1;
}

/**
 * The merged bytes of one base tensor after every LoRA, in order. The current value is kept
 * as raw little-endian bytes (a replaced f16 tensor passes through without a copy); it is
 * decoded only when a delta is added.
 */
function mergedTensor(t: TensorRef, adapters: readonly Adapter[], stats: MergeStats, log?: (l: string) => void): { dtype: ElemType; shape: number[]; bytes: Uint8Array } {
  let dtype: ElemType = t.dtype;
  let shape = [...t.shape];
  let bytes: Uint8Array | undefined; // undefined: still the base's, not read yet
  adapters.forEach((a, l) => {
    const fullKey = a.plan.full.get(t.name);
    if (fullKey) {
      // modules_to_save: the seed does state_dict[k] = lora_sd[key].half(); nothing is resized.
      const ft = a.byKey.get(fullKey)!;
      bytes = ft.read();
      if (ft.dtype !== "f16") {
        const vals = toF32(bytes, ft.dtype, fullKey);
        const h = new Uint16Array(vals.length);
        for (let i = 0; i < vals.length; i++) h[i] = f32ToF16(vals[i]);
        bytes = f16ToBytes(h);
      }
      const bad = firstNonFiniteF16(bytes);
      if (bad >= 0) throw new LlamatsError(`LoRA ${l + 1} (${a.dir}): ${fullKey} holds NaN/Inf at element ${bad}: the adapter file is corrupt`);
      dtype = "f16";
      shape = [...ft.shape];
      stats.tensorsReplaced++;
      log?.(`${a.name}: replace ${t.name} ${JSON.stringify(shape)}`);
    }
    const pair = a.plan.pairs.get(t.name);
    if (pair) {
      const ta = a.byKey.get(pair.a)!;
      const tb = a.byKey.get(pair.b)!;
      const factors: LoraFactors = {
        a: toF32(ta.read(), ta.dtype, pair.a), b: toF32(tb.read(), tb.dtype, pair.b),
        r: a.config.r, scale: a.config.scale, fanInFanOut: a.config.fanInFanOut,
      };
      bytes ??= t.read();
      const base = dtype === "f16" ? bytesToF16(bytes) : toF32(bytes, dtype, t.name);
      bytes = undefined; // let the input go before the delta is allocated
      const res = mergeTensor(base, shape[0], shape[1], [factors], t.name, { inPlace: true });
      sampleRss(stats);
      bytes = f16ToBytes(res.f16);
      dtype = "f16";
      stats.changedPerLora[l] += res.changed[0];
      stats.tensorsMerged++;
      log?.(`${a.name}: merge ${t.name} scale ${a.config.scale}, ${res.changed[0]} elements changed`);
    }
  });
  return { dtype, shape, bytes: bytes ?? t.read() };
}

/** Output shape/dtype of a base tensor after the LoRAs (known before merging: headers first). */
function plannedTensor(t: TensorRef, adapters: readonly Adapter[]): { dtype: ElemType; shape: readonly number[] } {
  let dtype: ElemType = t.dtype;
  let shape = t.shape;
  for (const a of adapters) {
    const fk = a.plan.full.get(t.name);
    if (fk) {
      dtype = "f16";
      shape = a.byKey.get(fk)!.shape;
    }
    if (a.plan.pairs.has(t.name)) dtype = "f16";
  }
  return { dtype, shape };
}

/**
 * Merge into `outDir` (which must exist and be empty): returns stats. `vocabSize` is written
 * into config.json. Tensors `*.rotary_emb.inv_freq` (buffers old checkpoints carry) are kept
 * in `.bin` output, as the seed does, and dropped from safetensors, as transformers does.
 */
export function mergeToHfFolder(base: BaseModel, adapters: readonly Adapter[], outDir: string, vocabSize: number, opts: HfMergeOptions = {}): MergeStats {
  const stats: MergeStats = { tensorsMerged: 0, tensorsReplaced: 0, changedPerLora: adapters.map(() => 0), peakRssBytes: 0 };
  const bin = Boolean(opts.hfBin);
  const totalBytes = base.shards.reduce((s, sh) => s + sh.tensors.reduce((u, t) => u + t.byteLength, 0), 0);
  let doneBytes = 0;
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const shard of base.shards) {
    const fileName = outputShardName(shard.fileName, bin);
    const outs: OutTensor[] = [];
    for (const t of shard.tensors) {
      if (!bin && t.name.endsWith("rotary_emb.inv_freq")) continue;
      const planned = plannedTensor(t, adapters);
      outs.push({
        name: t.name, dtype: planned.dtype, shape: planned.shape,
        produce: () => {
          opts.onProgress?.({ done: doneBytes, total: totalBytes, unit: "bytes", label: t.name });
          const m = mergedTensor(t, adapters, stats, opts.log);
          doneBytes += t.byteLength;
          sampleRss(stats);
          return m.bytes;
        },
      });
    }
    if (!bin) outs.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)); // as safetensors' save_file orders them
    for (const o of outs) {
      weightMap[o.name] = fileName;
      totalSize += o.shape.reduce((s, d) => s * d, 1) * elemBytes(o.dtype);
    }
    const path = join(outDir, fileName);
    if (bin) {
      writeTorchCheckpoint(path, outs.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape, data: o.produce })));
    } else {
      writeSafetensors(path, outs.map((o) => ({ name: o.name, dtype: safetensorsDtypeOf(o.dtype), shape: o.shape, data: o.produce })), { format: "pt" });
    }
  }
  opts.onProgress?.({ done: totalBytes, total: totalBytes, unit: "bytes" });
  if (base.shards.length > 1) {
    const indexName = bin ? "pytorch_model.bin.index.json" : "model.safetensors.index.json";
    const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeFileSync(join(outDir, indexName), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2));
  }
  writeFileSync(join(outDir, "config.json"), JSON.stringify({ ...base.config, vocab_size: vocabSize }, null, 2) + "\n");
  const gen = join(base.dir, "generation_config.json");
  if (existsSync(gen)) copyFileSync(gen, join(outDir, "generation_config.json"));
  copyTokenizerFiles(base, adapters, outDir);
  sampleRss(stats);
  return stats;
}

/** Tokenizer files of the last LoRA that has a tokenizer.model (else the base's). */
export function copyTokenizerFiles(base: BaseModel, adapters: readonly Adapter[], outDir: string): void {
  const fromDir = tokenizerSourceDir(base, adapters);
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(fromDir, f))) copyFileSync(join(fromDir, f), join(outDir, f));
  }
}
