// openModelSource: find out what a path holds and open it as a ModelSource.
// Files are recognised by their first bytes ("GGUF"; "PK\3\4" for torch zips; a u64 header
// length followed by '{' for safetensors); llama2.c has no magic and is tried last for .bin
// files, or forced with format "llama2c". Folders: params.json -> Meta; config.json -> HF.

import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FormatError, LlamatsError } from "@llamats/tensor";
import { RandomAccessFile } from "../io/file.js";
import { openGgufSource } from "./gguf.js";
import { openHfSafetensorsFolder, openSafetensorsSource, readJsonFile } from "./hf.js";
import { openLlama2cSource } from "./llama2c.js";
import { openHfTorchFolder, openMetaFolder, openPeftSource, openTorchFileSource } from "./torch.js";
import type { ModelSource, OpenSourceOptions } from "./types.js";

export type FileKind = "gguf" | "safetensors" | "torch-zip" | "unknown";

/** What a file's first bytes say it is. */
export function sniffFile(path: string): FileKind {
  const f = new RandomAccessFile(path);
  try {
    const head = f.read(0, Math.min(9, f.size), "magic");
    if (head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46) return "gguf";
    if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return "torch-zip";
    if (head.length >= 9 && head[8] === 0x7b) {
      const n = new DataView(head.buffer, head.byteOffset).getBigUint64(0, true);
      if (n > 0n && n + 8n <= BigInt(f.size)) return "safetensors";
    }
    return "unknown";
  } finally {
    f.close();
  }
}

export async function openModelSource(path: string, opts: OpenSourceOptions = {}): Promise<ModelSource> {
  return openModelSourceSync(path, opts);
}

export function openModelSourceSync(path: string, opts: OpenSourceOptions = {}): ModelSource {
  if (!existsSync(path)) throw new FormatError(path, "path", 0, "no such file or folder");
  if (statSync(path).isDirectory()) {
    if (opts.format === "gguf" || opts.format === "safetensors" || opts.format === "llama2c") {
      throw new LlamatsError(`${path} is a folder, but --format ${opts.format} names a single file: give the file, or a folder format (hf, meta, peft)`);
    }
    return openFolder(path, opts);
  }
  switch (opts.format) {
    case "llama2c": return openLlama2cSource(path);
    case "gguf": return openGgufSource(path);
    case "safetensors": return openSafetensorsSource(path);
    case undefined: break;
    default: break; // "hf" / "meta" on a file: decided by content below
  }
  // A shard index names the folder's shards: open the model it indexes.
  if (basename(path) === "pytorch_model.bin.index.json") return openHfTorchFolder(path);
  if (basename(path) === "model.safetensors.index.json") return openFolder(dirname(path), { format: "hf" });
  const kind = sniffFile(path);
  if (kind === "gguf") return openGgufSource(path);
  if (kind === "safetensors") return openSafetensorsSource(path);
  if (kind === "torch-zip") return openTorchFileSource(path, opts.format);
  if (basename(path).endsWith(".bin")) return openLlama2cSource(path);
  throw new FormatError(path, "magic", 0, "not a GGUF, safetensors, PyTorch or llama2.c file (use --format llama2c to force llama2.c)");
}

function openFolder(dir: string, opts: OpenSourceOptions): ModelSource {
  if (opts.format === "peft" || existsSync(join(dir, "adapter_config.json"))) return openPeftFolder(dir);
  const hasParams = existsSync(join(dir, "params.json"));
  const hasConfig = existsSync(join(dir, "config.json"));
  if (opts.format === "meta" || (hasParams && opts.format !== "hf")) return openMetaFolder(dir);
  if (hasConfig) {
    const st = openHfSafetensorsFolder(dir);
    if (st) return st;
    return openHfTorchFolder(dir);
  }
  throw new FormatError(dir, "folder", 0, "no config.json (Hugging Face), params.json (Meta) or adapter_config.json (PEFT) in this folder");
}

function openPeftFolder(dir: string): ModelSource {
  const st = join(dir, "adapter_model.safetensors");
  if (existsSync(st)) {
    const src = openSafetensorsSource(st);
    const cfg = join(dir, "adapter_config.json");
    return { ...src, format: "peft", path: dir, metadata: existsSync(cfg) ? readJsonFile(cfg) : src.metadata };
  }
  return openPeftSource(dir);
}
