// The base model of a merge, as shards of tensors under Hugging Face names in HF layout
// (Q/K rows rotate-half), which is what PEFT adapters were trained against. Inputs:
// - an HF folder: config.json + model.safetensors | model-*-of-*.safetensors + index |
//   pytorch_model.bin | pytorch_model-*-of-*.bin + pytorch_model.bin.index.json;
// - a Meta folder: params.json + consolidated.*.pth (model-parallel shards joined by
//   formats' openModelSource), renamed to HF keys with wq/wk permuted to rotate-half.
// Output shards mirror the input shards (the seed's low-mem script keeps shard names).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { GGMLType, LlamatsError } from "@llamats/tensor";
import { hfFromCanonical, openModelSourceSync, permuteQkRows, qkKind } from "@llamats/formats";
import { openTensorFile, type ElemType, type TensorFile, type TensorRef } from "./tensor-files.js";

export interface BaseShard {
  /** File name in the input folder ("pytorch_model-00001-of-00002.bin"); a Meta base has one
   *  shard named "model.safetensors". */
  readonly fileName: string;
  readonly tensors: readonly TensorRef[];
}

export interface BaseModel {
  readonly dir: string;
  readonly kind: "hf-safetensors" | "hf-bin" | "meta";
  /** HF config.json fields (synthesised from params.json for a Meta base). */
  readonly config: Record<string, unknown>;
  readonly shards: readonly BaseShard[];
  /** Every tensor by HF name. */
  readonly byName: ReadonlyMap<string, TensorRef>;
  readonly files: readonly string[];
  close(): void;
}

export interface OpenBaseOptions {
  /** Prefer pytorch_model*.bin over safetensors when a folder has both (for --hf-bin). */
  preferBin?: boolean;
}

function readJson(path: string): Record<string, unknown> {
  try {
    const j = JSON.parse(readFileSync(path, "utf8")) as unknown;
    if (typeof j !== "object" || j === null || Array.isArray(j)) throw new Error("not a JSON object");
    return j as Record<string, unknown>;
  } catch (e) {
    throw new LlamatsError(`${path}: cannot read JSON: ${(e as Error).message}`);
  }
}

/** Shard files of an HF folder, in order, for one weight family; undefined if absent. */
function hfShardFiles(dir: string, family: "safetensors" | "bin"): string[] | undefined {
  const index = family === "bin" ? "pytorch_model.bin.index.json" : "model.safetensors.index.json";
  const single = family === "bin" ? "pytorch_model.bin" : "model.safetensors";
  if (existsSync(join(dir, index))) {
    const map = readJson(join(dir, index)).weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== "object") throw new LlamatsError(`${join(dir, index)}: no weight_map`);
    const files = [...new Set(Object.values(map))].sort();
    for (const f of files) {
      if (f.includes("/") || f.includes("\\") || !existsSync(join(dir, f))) {
        throw new LlamatsError(`${join(dir, index)}: shard "${f}" is missing from ${dir}`);
      }
    }
    return files;
  }
  if (existsSync(join(dir, single))) return [single];
  const re = family === "bin" ? /^pytorch_model-\d+-of-\d+\.bin$/ : /^model-\d+-of-\d+\.safetensors$/;
  const files = readdirSync(dir).filter((f) => re.test(f)).sort();
  return files.length ? files : undefined;
}

export function openBaseModel(dir: string, opts: OpenBaseOptions = {}): BaseModel {
  if (!existsSync(dir)) throw new LlamatsError(`base model folder ${dir} does not exist`);
  if (existsSync(join(dir, "config.json"))) return openHfBase(dir, opts);
  if (existsSync(join(dir, "params.json"))) return openMetaBase(dir);
  throw new LlamatsError(`${dir}: neither config.json (Hugging Face) nor params.json (Meta) found: not a LLaMA model folder`);
}

function openHfBase(dir: string, opts: OpenBaseOptions): BaseModel {
  const config = readJson(join(dir, "config.json"));
  const st = hfShardFiles(dir, "safetensors");
  const bin = hfShardFiles(dir, "bin");
  const useBin = bin !== undefined && (opts.preferBin || st === undefined);
  const files = useBin ? bin : st;
  if (!files) throw new LlamatsError(`${dir}: no weights (model*.safetensors or pytorch_model*.bin)`);
  const opened: TensorFile[] = [];
  try {
    for (const f of files) opened.push(openTensorFile(join(dir, f)));
  } catch (e) {
    for (const o of opened) o.close();
    throw e;
  }
  const shards = opened.map((o, i) => ({ fileName: files[i], tensors: o.tensors }));
  return finish(dir, useBin ? "hf-bin" : "hf-safetensors", config, shards, files.map((f) => join(dir, f)), () => opened.forEach((o) => o.close()));
}

function finish(dir: string, kind: BaseModel["kind"], config: Record<string, unknown>, shards: BaseShard[], files: string[], close: () => void): BaseModel {
  const byName = new Map<string, TensorRef>();
  for (const s of shards) {
    for (const t of s.tensors) {
      if (byName.has(t.name)) {
        close();
        throw new LlamatsError(`${dir}: tensor "${t.name}" appears in two shards`);
      }
      byName.set(t.name, t);
    }
  }
  return { dir, kind, config, shards, byName, files, close };
}

const GGML_TO_ELEM: Partial<Record<number, ElemType>> = { [GGMLType.F32]: "f32", [GGMLType.F16]: "f16", [GGMLType.BF16]: "bf16" };

function openMetaBase(dir: string): BaseModel {
  const params = readJson(join(dir, "params.json"));
  const src = openModelSourceSync(dir, { format: "meta" });
  try {
    const c = src.config;
    const nHeads = c.headCount ?? (params.n_heads as number);
    const nKvHeads = c.headCountKv ?? (params.n_kv_heads as number | undefined) ?? nHeads;
    const tensors: TensorRef[] = [];
    for (const t of src.tensors) {
      const hf = hfFromCanonical(t.name);
      const dtype = GGML_TO_ELEM[t.type];
      if (!hf) continue;
      if (!dtype) throw new LlamatsError(`${dir}: tensor ${t.sourceName} has ggml type ${t.type}; a merge needs f16/f32/bf16`);
      const kind = qkKind(t.name);
      const read = (): Uint8Array => {
        const bytes = src.read(t.name);
        if (!kind) return bytes;
        // formats gives Q/K interleaved (Meta/GGUF layout); the adapter expects HF's rotate-half.
        return permuteQkRows(bytes, t.shape[0], kind === "q" ? nHeads : nKvHeads, "interleavedToHf");
      };
      tensors.push({ name: hf, dtype, shape: t.shape, byteLength: t.byteLength, file: t.sourceName, read });
    }
    const emb = tensors.find((t) => t.name === "model.embed_tokens.weight");
    const gate = tensors.find((t) => t.name === "model.layers.0.mlp.gate_proj.weight");
    if (!emb || !gate) throw new LlamatsError(`${dir}: Meta checkpoint lacks tok_embeddings or layers.0.feed_forward.w1`);
    const config: Record<string, unknown> = {
      architectures: ["LlamaForCausalLM"], bos_token_id: 1, eos_token_id: 2, hidden_act: "silu",
      hidden_size: emb.shape[1], initializer_range: 0.02, intermediate_size: gate.shape[0],
      max_position_embeddings: 2048, model_type: "llama", num_attention_heads: nHeads,
      num_hidden_layers: c.blockCount ?? params.n_layers, pad_token_id: 0,
      rms_norm_eps: c.rmsEps ?? params.norm_eps ?? 1e-6, tie_word_embeddings: false, torch_dtype: "float16",
      use_cache: true, vocab_size: emb.shape[0],
    };
    if (nKvHeads !== nHeads) config.num_key_value_heads = nKvHeads;
    const files = readdirSync(dir).filter((f) => /^consolidated\.\d+\.pth$/.test(f)).map((f) => join(dir, f));
    return finish(dir, "meta", config, [{ fileName: "model.safetensors", tensors }], files, () => src.close());
  } catch (e) {
    src.close();
    throw e;
  }
}

/** "pytorch_model-00001-of-00002.bin" <-> "model-00001-of-00002.safetensors" for the output. */
export function outputShardName(inputName: string, bin: boolean): string {
  const m = /(\d+-of-\d+)/.exec(basename(inputName));
  if (bin) return m ? `pytorch_model-${m[1]}.bin` : "pytorch_model.bin";
  return m ? `model-${m[1]}.safetensors` : "model.safetensors";
}
