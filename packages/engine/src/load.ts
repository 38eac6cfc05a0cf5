// loadModel(path, opts): everything between a model path and a ready LlamaModel.
// 1. open the file or folder through @llamats/formats (GGUF, safetensors, HF / Meta folders,
//    llama2.c with format "llama2c");
// 2. LlamaConfig from its metadata (@llamats/model), with the NTK alpha applied;
// 3. the tokenizer: GGUF `tokenizer.ggml.*` metadata, else the folder's tokenizer.model
//    (llama2.c files have none: such a model works with ids only);
// 4. the backend (backends.ts), weights read into bytes the backend allocates, runtime LoRA
//    adapters attached (@llamats/lora), and the run state with a KV cache of nCtx tokens.

import { LlamatsError, ntkScaling, parseKVCacheType, withRopeScaling, type KVCacheType, type ProgressCallback } from "@llamats/tensor";
import { configFromSource, loadTokenizer, openModelSource, type ModelSource, type SourceFormat } from "@llamats/formats";
import { Tokenizer } from "@llamats/tokenizer";
import { loadWeights, RunState, type LlamaWeights } from "@llamats/model";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadWeightsWithLoras, type LoraSpec } from "./lora-attach.js";
import { createBackend, createGpuDevice, type BackendName } from "./backends.js";
import { LlamaModel } from "./llm.js";

export interface LoadModelOptions {
  /** Force the model format ("llama2c" is never sniffed). */
  readonly format?: SourceFormat | string;
  /** PEFT adapter folder(s), applied at runtime (not merged), in order; {path, scale} multiplies
   *  an adapter's deltas by scale (llama.cpp's --lora-scaled). */
  readonly lora?: string | readonly (string | LoraSpec)[];
  readonly threads?: number;
  readonly backend?: BackendName | string;
  /** NTK-aware RoPE scaling (inference_hf.py's --alpha): a number (1 = none) or "auto". */
  readonly alpha?: number | "auto";
  /** KV cache size in tokens (default: the model's training context, at most 2048). */
  readonly nCtx?: number;
  /** Tokens per prefill pass (default 64). */
  readonly maxBatch?: number;
  /** Storage of the KV cache: "f32", "f16" (half the memory) or "q8_0" (ggml blocks, ~0.27x;
   *  needs kvDim % 32 == 0). Default DEFAULT_CACHE_TYPE. The gpu backend keeps its device
   *  cache in f32 whatever this says. */
  readonly cacheType?: KVCacheType | string;
  /** Use this tokenizer instead of the model's own (or for a model without one): a
   *  SentencePiece tokenizer.model, a GGUF file, or llama2.c's tokenizer.bin. */
  readonly tokenizerPath?: string;
  /** Bytes of weights read so far, per tensor (a 7B model takes a while). */
  readonly onProgress?: ProgressCallback;
}

/** The KV cache type when none is asked for (docs/PERFORMANCE.md: f16 vs f32 measured). */
export const DEFAULT_CACHE_TYPE: KVCacheType = "f32";

const FORMATS: readonly string[] = ["gguf", "safetensors", "hf", "meta", "llama2c"];

export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<LlamaModel> {
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) {
    throw new LlamatsError(`unknown model format "${opts.format}" (want ${FORMATS.join(", ")})`);
  }
  const cacheType = parseKVCacheType(opts.cacheType ?? DEFAULT_CACHE_TYPE); // bad value: before any reading
  const opened = await openModelSource(path, opts.format ? { format: opts.format as SourceFormat } : undefined);
  const source = opts.onProgress ? withReadProgress(opened, opts.onProgress) : opened;
  try {
    let config = configFromSource(source);
    if (opts.alpha !== undefined) config = withRopeScaling(config, ntkScaling(opts.alpha));
    const loras: LoraSpec[] = (opts.lora === undefined ? [] : typeof opts.lora === "string" ? [opts.lora] : [...opts.lora])
      .map((l) => (typeof l === "string" ? { path: l, scale: 1 } : l));
    // inference_hf.py: the tokenizer comes from the LoRA folder when there is one.
    const loraTokenizer = loras.map((d) => join(d.path, "tokenizer.model")).filter((p) => existsSync(p)).pop();
    const tokenizer = loadModelTokenizer(source, opts.tokenizerPath ?? loraTokenizer);
    // The gpu backend runs whole forward steps on the device; the host side (weights read
    // once for upload, token embeddings) stays on the reference backend.
    const onGpu = opts.backend === "gpu";
    const backend = await createBackend(onGpu ? "ts" : opts.backend ?? "auto", { threads: opts.threads });
    let weights: LlamaWeights;
    try {
      if (loras.length) ({ config, weights } = loadWeightsWithLoras(source, backend, config, loras));
      else weights = loadWeights(source, backend, config);
      if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
        throw new LlamatsError(
          `${path}: the tokenizer has ${tokenizer.vocabSize} pieces but the model only ${config.vocabSize} embeddings (mixed Chinese-LLaMA / Alpaca files?)`,
        );
      }
    } catch (err) {
      backend.dispose();
      throw err;
    }
    const nCtx = opts.nCtx ?? Math.min(config.contextLength, 2048); // 7B: (32, 2048, 4096) f32 K and V = 2 GiB
    if (!Number.isInteger(nCtx) || nCtx < 1) throw new LlamatsError(`context size ${nCtx}: want a positive integer`);
    let state: RunState;
    try {
      state = new RunState(backend, config, { nCtx, maxBatch: opts.maxBatch, cacheType });
    } catch (err) {
      backend.dispose();
      throw err;
    }
    const device = onGpu ? await createGpuDevice(weights, { nCtx, maxBatch: opts.maxBatch }) : undefined;
    return new LlamaModel({ path, format: source.format, config, tokenizer, backend, weights, state, device });
  } finally {
    opened.close();
  }
}

/** The same source, reporting each tensor read to onProgress (bytes). */
function withReadProgress(src: ModelSource, onProgress: ProgressCallback): ModelSource {
  const total = src.tensors.reduce((a, t) => a + t.byteLength, 0);
  let done = 0;
  return {
    format: src.format, path: src.path, metadata: src.metadata, config: src.config, tensors: src.tensors,
    tokenizerPath: src.tokenizerPath, kv: src.kv,
    read(name: string, dst?: Uint8Array): Uint8Array {
      const bytes = src.read(name, dst);
      done += bytes.length;
      onProgress({ done: Math.min(done, total), total, unit: "bytes", label: name });
      return bytes;
    },
    close: () => src.close(),
  };
}

/** The tokenizer a model file carries (GGUF metadata or a tokenizer.model beside it). */
export function loadModelTokenizer(source: ModelSource, override?: string): Tokenizer | undefined {
  if (override) return loadTokenizer(override);
  if (Array.isArray(source.metadata["tokenizer.ggml.tokens"]) || ArrayBuffer.isView(source.metadata["tokenizer.ggml.tokens"])) {
    return Tokenizer.fromGguf(source.metadata);
  }
  if (source.tokenizerPath) return loadTokenizer(source.tokenizerPath);
  return undefined;
}
