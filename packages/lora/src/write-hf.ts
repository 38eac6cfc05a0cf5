// `--output-type huggingface`: a canonical (merged) source written as the input's Hugging
// Face folder, the way the seed's low-mem script leaves it: shards named as the input's
// (`model-0000i-of-0000n.safetensors`, or torch.save `pytorch_model-*.bin` with --hf-bin),
// HF names and rotate-half Q/K rows (formats' name table and permutation), the index
// (weight_map + metadata.total_size) when there are several shards, config.json with the new
// vocab_size, generation_config.json and the tokenizer files. Old checkpoints' extra buffers
// (`rotary_emb.inv_freq`) are kept in `.bin` output, as the seed does, and dropped from
// safetensors, as transformers does.

import { copyFileSync, existsSync } from "node:fs";
import { basename, join } from "node:path";
import { ggmlTypeInfo, LlamatsError, writeFileAtomic, type ProgressCallback } from "@llamats/tensor";
import {
  hfFromCanonical, permuteQkRows, qkKind, safetensorsDtypeOfGgml, torchDtypeOfGgml, writeSafetensors, writeTorchCheckpoint,
  type ModelSource, type SourceTensor,
} from "@llamats/formats";

export const TOKENIZER_FILES = ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"];

export interface HfWriteOptions {
  /** torch.save .bin shards instead of safetensors. */
  hfBin?: boolean;
  /** config.json to write. */
  config: Record<string, unknown>;
  /** Folder whose generation_config.json is copied (the base's). */
  generationConfigDir?: string;
  /** Folder whose tokenizer files are copied. */
  tokenizerDir?: string;
  onProgress?: ProgressCallback;
}

/** "pytorch_model-00001-of-00002.bin" <-> "model-00001-of-00002.safetensors" for the output. */
export function outputShardName(inputName: string, bin: boolean): string {
  const m = /(\d+-of-\d+)/.exec(basename(inputName));
  if (bin) return m ? `pytorch_model-${m[1]}.bin` : "pytorch_model.bin";
  return m ? `model-${m[1]}.safetensors` : "model.safetensors";
}

const HF_LAYER_ORDER = [
  "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "self_attn.rotary_emb",
  "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj", "input_layernorm", "post_attention_layernorm",
];

/** transformers' LlamaForCausalLM state-dict order (what torch.save shards hold). */
function hfStateDictOrder(a: string, b: string): number {
  const rank = (k: string): [number, number, number] => {
    if (k.startsWith("model.embed_tokens")) return [0, 0, 0];
    const m = /^model\.layers\.(\d+)\.(.+)\.[a-z_]+$/.exec(k);
    if (m) return [1, Number(m[1]), HF_LAYER_ORDER.indexOf(m[2])];
    return k.startsWith("model.norm") ? [2, 0, 0] : [3, 0, 0];
  };
  const ra = rank(a), rb = rank(b);
  return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || (a < b ? -1 : a > b ? 1 : 0);
}

interface Out {
  readonly name: string;
  readonly t: SourceTensor;
  readonly extra: boolean;
}

/** Write `source` into `outDir` (existing, empty) as a Hugging Face folder; returns file names. */
export function writeHfFolder(source: ModelSource, outDir: string, opts: HfWriteOptions): string[] {
  const bin = Boolean(opts.hfBin);
  const hp = source.config;
  const shards = new Map<string, Out[]>();
  const add = (file: string | undefined, o: Out) => {
    const name = outputShardName(file ?? "model.safetensors", bin);
    shards.set(name, [...(shards.get(name) ?? []), o]);
  };
  for (const t of source.tensors) {
    const name = hfFromCanonical(t.name);
    if (!name) throw new LlamatsError(`${source.path}: tensor ${t.name} has no Hugging Face name`);
    add(t.file, { name, t, extra: false });
  }
  for (const e of source.extras ?? []) {
    if (bin || !e.name.endsWith("rotary_emb.inv_freq")) add(e.file, { name: e.name, t: e, extra: true });
  }
  const extraByName = new Map((source.extras ?? []).map((e) => [e.name, e]));
  const total = [...shards.values()].flat().reduce((s, o) => s + o.t.byteLength, 0);
  let done = 0;
  const bytesOf = (o: Out): Uint8Array => {
    opts.onProgress?.({ done, total, unit: "bytes", label: o.name });
    done += o.t.byteLength;
    if (o.extra) return extraByName.get(o.name)!.read();
    const bytes = source.read(o.t.name);
    const qk = qkKind(o.t.name);
    if (!qk) return bytes;
    const heads = qk === "q" ? hp.headCount : (hp.headCountKv ?? hp.headCount);
    if (!heads) throw new LlamatsError(`${source.path}: head count unknown, cannot write ${o.name} in Hugging Face's Q/K order`);
    return permuteQkRows(bytes, o.t.shape[0], heads, "interleavedToHf");
  };
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [file, outs] of [...shards.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    outs.sort((x, y) => (bin ? hfStateDictOrder(x.name, y.name) : x.name < y.name ? -1 : x.name > y.name ? 1 : 0)); // safetensors' save_file sorts
    for (const o of outs) {
      weightMap[o.name] = file;
      totalSize += o.t.byteLength;
    }
    const path = join(outDir, file);
    if (bin) {
      writeTorchCheckpoint(path, outs.map((o) => {
        const dtype = torchDtypeOfGgml(o.t.type);
        if (!dtype) throw new LlamatsError(`${o.name}: ${ggmlTypeInfo(o.t.type)?.name ?? o.t.type} cannot be stored in a .bin`);
        return { name: o.name, dtype, shape: o.t.shape, data: () => bytesOf(o) };
      }));
    } else {
      writeSafetensors(path, outs.map((o) => {
        const dtype = safetensorsDtypeOfGgml(o.t.type);
        if (!dtype) throw new LlamatsError(`${o.name}: ${ggmlTypeInfo(o.t.type)?.name ?? o.t.type} cannot be stored in safetensors`);
        return { name: o.name, dtype, shape: o.t.shape, data: () => bytesOf(o) };
      }), { format: "pt" });
    }
  }
  opts.onProgress?.({ done: total, total, unit: "bytes" });
  const files = [...shards.keys()];
  if (shards.size > 1) {
    const indexName = bin ? "pytorch_model.bin.index.json" : "model.safetensors.index.json";
    const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeFileAtomic(join(outDir, indexName), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2));
    files.push(indexName);
  }
  writeFileAtomic(join(outDir, "config.json"), JSON.stringify(opts.config, null, 2) + "\n");
  files.push("config.json");
  const gen = opts.generationConfigDir && join(opts.generationConfigDir, "generation_config.json");
  if (gen && existsSync(gen)) {
    copyFileSync(gen, join(outDir, "generation_config.json"));
    files.push("generation_config.json");
  }
  if (opts.tokenizerDir) files.push(...copyTokenizerFiles(opts.tokenizerDir, outDir));
  return files;
}

/** Copy the tokenizer files a folder has into `outDir`; returns their names. */
export function copyTokenizerFiles(fromDir: string, outDir: string): string[] {
  return TOKENIZER_FILES.filter((f) => existsSync(join(fromDir, f))).map((f) => {
    copyFileSync(join(fromDir, f), join(outDir, f));
    return f;
  });
}
