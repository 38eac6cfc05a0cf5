// The base model of a merge: formats' canonical ModelSource (GGUF names, Q/K interleaved),
// whatever the folder holds:
// - a Hugging Face folder: config.json + model.safetensors | model-*-of-*.safetensors + index |
//   pytorch_model.bin | pytorch_model-*-of-*.bin + pytorch_model.bin.index.json (safetensors
//   preferred, unless preferBin for --hf-bin);
// - a Meta folder: params.json + consolidated.*.pth (model-parallel shards joined by formats).
// Plus what the Hugging Face output mirrors: the folder, config.json and the input's shards
// (SourceTensor.file, ModelSource.extras).

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";
import { hfConfig, openModelSourceSync, type ModelSource } from "@llamats/formats";

export interface MergeBase {
  readonly dir: string;
  readonly kind: "hf-safetensors" | "hf-bin" | "meta";
  readonly source: ModelSource;
  /** config.json as read (HF), or built from params.json (Meta); vocab_size is the base's. */
  readonly hfConfig: Record<string, unknown>;
  close(): void;
}

export interface OpenBaseOptions {
  /** Prefer pytorch_model*.bin over safetensors when a folder has both (for --hf-bin). */
  preferBin?: boolean;
}

function binEntry(dir: string): string | undefined {
  for (const f of ["pytorch_model.bin.index.json", "pytorch_model.bin"]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

export function openBaseModel(dir: string, opts: OpenBaseOptions = {}): MergeBase {
  if (!existsSync(dir)) throw new LlamatsError(`base model folder ${dir} does not exist`);
  if (existsSync(join(dir, "config.json"))) {
    const hasSafetensors = readdirSync(dir).some((f) => f.endsWith(".safetensors"));
    const bin = binEntry(dir);
    const useBin = !hasSafetensors || (opts.preferBin === true && bin !== undefined);
    const source = openModelSourceSync(useBin && bin ? bin : dir, { format: "hf" });
    return { dir, kind: useBin ? "hf-bin" : "hf-safetensors", source, hfConfig: source.metadata, close: () => source.close() };
  }
  if (existsSync(join(dir, "params.json"))) {
    const source = openModelSourceSync(dir, { format: "meta" });
    // The seed could not read Meta files; transformers' defaults for what params.json omits.
    const hp = { ...source.config, contextLength: source.config.contextLength ?? 2048 };
    return { dir, kind: "meta", source: { ...source, config: hp }, hfConfig: hfConfig(hp, "float16"), close: () => source.close() };
  }
  throw new LlamatsError(`${dir}: neither config.json (Hugging Face) nor params.json (Meta) found: not a LLaMA model folder`);
}
