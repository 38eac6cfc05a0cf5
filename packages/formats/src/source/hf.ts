// ModelSources in Hugging Face layout: a folder with config.json and model.safetensors,
// sharded `*.safetensors` + model.safetensors.index.json, or pytorch_model*.bin (+ index,
// through the torch reader); also a lone .safetensors file (HF-named tensors are mapped
// and need config.json beside them for head counts; any other names pass through as is).
// HF stores Q/K in rotate-half order: they are permuted to interleaved on read.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FormatError, type GGMLType, type LlamaConfigInput } from "@llamats/tensor";
import { canonicalFromHf, canonicalOrder, qkKind } from "../names.js";
import { ggmlTypeOfSafetensors, openSafetensors, type SafetensorsFile } from "../safetensors.js";
import { buildSource, type SourceEntry } from "./build.js";
import { completeFromShapes, hparamsFromGguf, hparamsFromHfConfig } from "./hparams.js";
import type { ExtraTensor, ModelSource } from "./types.js";

/** Parse a JSON file (config.json, params.json, index json) into an object, or FormatError. */
export function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new FormatError(path, "file", 0, `cannot read: ${(err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new FormatError(path, "json", 0, (err as Error).message);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new FormatError(path, "json", 0, "not a JSON object");
  return v as Record<string, unknown>;
}

export function findTokenizer(...dirs: string[]): string | undefined {
  for (const d of dirs) {
    const p = join(d, "tokenizer.model");
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Map HF-named tensors of opened files to canonical entries; tensors without a canonical
 *  name (rotary_emb.inv_freq and other buffers) go to `extras` when given. */
export function hfEntries(
  path: string,
  tensors: { name: string; type: GGMLType | undefined; shape: readonly number[]; byteLength: number; file?: string; read(dst?: Uint8Array): Uint8Array }[],
  hp: LlamaConfigInput,
  extras?: ExtraTensor[],
): SourceEntry[] {
  const entries: SourceEntry[] = [];
  const fileOf = (t: { file?: string }) => (t.file !== undefined ? { file: basename(t.file) } : {});
  for (const t of tensors) {
    const name = canonicalFromHf(t.name);
    if (!name) {
      if (extras && t.type !== undefined) {
        extras.push({ name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name, ...fileOf(t), read: () => t.read() });
      }
      continue;
    }
    if (t.type === undefined) throw new FormatError(path, `tensor "${t.name}"`, 0, "dtype has no ggml equivalent");
    const qk = qkKind(name);
    let permuteHeads: number | undefined;
    if (qk) {
      permuteHeads = qk === "q" ? hp.headCount : (hp.headCountKv ?? hp.headCount);
      if (!permuteHeads) throw new FormatError(path, "config.json", 0, `num_attention_heads is needed to un-permute ${t.name}`);
      if (t.shape.length !== 2 || t.shape[0] % (2 * permuteHeads) !== 0) {
        throw new FormatError(path, `tensor "${t.name}"`, 0, `shape ${JSON.stringify(t.shape)} does not split into ${permuteHeads} heads`);
      }
    }
    entries.push({
      tensor: { name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name, ...fileOf(t) },
      readRaw: (dst) => t.read(dst),
      ...(permuteHeads ? { permuteHeads } : {}),
    });
  }
  return entries.sort((a, b) => canonicalOrder(a.tensor.name, b.tensor.name));
}

function safetensorsTensors(files: SafetensorsFile[]) {
  return files.flatMap((f) =>
    f.tensors.map((t) => ({
      name: t.name,
      type: ggmlTypeOfSafetensors(t.dtype),
      shape: t.shape,
      byteLength: t.end - t.begin,
      file: f.path,
      read: (dst?: Uint8Array) => f.readTensor(t, dst),
    })),
  );
}

/** A lone .safetensors file. */
export function openSafetensorsSource(path: string): ModelSource {
  const f = openSafetensors(path);
  try {
    const isHf = f.tensors.some((t) => canonicalFromHf(t.name) !== undefined);
    if (isHf) {
      const cfgPath = join(dirname(path), "config.json");
      const cfg = existsSync(cfgPath) ? readJsonFile(cfgPath) : undefined;
      const stated = cfg ? hparamsFromHfConfig(cfgPath, cfg) : hparamsFromSafetensorsMetadata(f.metadata);
      const entries = hfEntries(path, safetensorsTensors([f]), stated);
      return buildSource({
        format: "safetensors", path, metadata: cfg ?? { ...f.metadata },
        config: completeFromShapes(path, stated, entries.map((e) => e.tensor)),
        entries, tokenizerPath: findTokenizer(dirname(path)), close: () => f.close(),
      });
    }
    // Canonical (or foreign) names: pass through every tensor ggml has a type for.
    const entries: SourceEntry[] = safetensorsTensors([f]).flatMap((t) =>
      t.type === undefined ? [] : [{ tensor: { name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.name }, readRaw: t.read }],
    );
    const stated = hparamsFromSafetensorsMetadata(f.metadata);
    return buildSource({
      format: "safetensors", path, metadata: { ...f.metadata },
      config: completeFromShapes(path, stated, entries.map((e) => e.tensor)),
      entries, tokenizerPath: findTokenizer(dirname(path)), close: () => f.close(),
    });
  } catch (err) {
    f.close();
    throw err;
  }
}

/** Hyper-parameters our own safetensors writer stores in __metadata__ as "llama.*" strings (GGUF's keys). */
function hparamsFromSafetensorsMetadata(md: Record<string, string>): LlamaConfigInput {
  const asGguf: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(md)) {
    if (!k.startsWith("llama.")) continue;
    const x = Number(v);
    asGguf[k] = k === "llama.rope.scaling.type" ? v : Number.isFinite(x) ? x : undefined;
  }
  return hparamsFromGguf({ ...asGguf, "general.architecture": "llama" }, "safetensors __metadata__");
}

/** An HF folder holding safetensors (single file or shards + index). */
export function openHfSafetensorsFolder(dir: string): ModelSource | undefined {
  const cfgPath = join(dir, "config.json");
  const cfg = readJsonFile(cfgPath);
  const hp = hparamsFromHfConfig(cfgPath, cfg);
  let files: string[];
  const indexPath = join(dir, "model.safetensors.index.json");
  if (existsSync(indexPath)) {
    const index = readJsonFile(indexPath);
    const wm = index.weight_map;
    if (typeof wm !== "object" || wm === null) throw new FormatError(indexPath, "weight_map", 0, "missing or not an object");
    files = [...new Set(Object.values(wm as Record<string, unknown>).map(String))];
    for (const f of files) if (f.includes("/") || f.includes("\\") || f.startsWith(".")) throw new FormatError(indexPath, "weight_map", 0, `shard name "${f}" leaves the folder`);
  } else if (existsSync(join(dir, "model.safetensors"))) {
    files = ["model.safetensors"];
  } else {
    files = readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort();
    if (files.length === 0) return undefined;
  }
  const opened: SafetensorsFile[] = [];
  try {
    for (const f of files) opened.push(openSafetensors(join(dir, f)));
    const extras: ExtraTensor[] = [];
    const entries = hfEntries(dir, safetensorsTensors(opened), hp, extras);
    return buildSource({
      format: "hf", path: dir, metadata: cfg,
      config: completeFromShapes(dir, hp, entries.map((e) => e.tensor)),
      entries, extras, tokenizerPath: findTokenizer(dir), close: () => opened.forEach((f) => f.close()),
    });
  } catch (err) {
    opened.forEach((f) => f.close());
    throw err;
  }
}
