// quantizeModel: llama-quantize as a library call. A model (GGUF file, HF or Meta folder)
// becomes a GGUF whose tensors have the types llama.cpp's rules give them (@llamats/quant
// llamaQuantizeChoice: ftype, mixture, output / embedding overrides, row-length fallbacks),
// quantised with the reference quantisers (byte-identical to llama.cpp's), streamed one
// tensor at a time through the atomic GGUF writer (OUT.tmp-<pid>, renamed when complete).
// Refused with a LlamatsError: a PEFT adapter, a file without tensors (vocab-only GGUF), and
// a quantised tensor that would be quantised again unless allowRequantize (as llama.cpp).

import { GGMLType, LlamatsError, ggmlTypeInfo, type ProgressCallback } from "@llamats/tensor";
import { createQuantizePool, llamaQuantizePlan, parseQuantizeType, quantizeRows, type QuantizeFallback, type QuantizePool } from "@llamats/quant";
import { openModelSourceSync } from "../source/open.js";
import type { ModelSource, SourceTensor } from "../source/types.js";
import { gguf } from "../gguf/writer.js";
import { fromFloat32, rowsCols, tensorBytes, toFloat32 } from "./dtype.js";
import { refuseAdapter } from "./adapter-check.js";
import { writeGgufFromSource } from "./to-gguf.js";

export interface QuantizeModelOptions {
  readonly pure?: boolean;
  readonly outputTensorType?: GGMLType;
  readonly tokenEmbeddingType?: GGMLType;
  /** Quantise tensors that are already quantised (to another type), as llama-quantize --allow-requantize. */
  readonly allowRequantize?: boolean;
  /** Threads quantising each tensor's rows (default 1: this thread only). */
  readonly threads?: number;
  readonly onProgress?: ProgressCallback;
}

export interface QuantizeModelResult {
  readonly path: string;
  readonly bytes: number;
  /** Tensor name -> type name as written. */
  readonly types: Record<string, string>;
  /** Tensors whose row length did not fit the chosen type (llama.cpp's fallback). */
  readonly fallbacks: QuantizeFallback[];
  /** Tensors that were quantised before and quantised again (allowRequantize). */
  readonly requantized: { name: string; from: string; to: string }[];
}

const typeName = (t: GGMLType): string => ggmlTypeInfo(t)?.name ?? String(t);

/** A view of `source` whose tensors are already converted to their target types. */
function convertedSource(source: ModelSource, typeOf: (t: SourceTensor) => GGMLType, pool?: QuantizePool): ModelSource {
  const byName = new Map(source.tensors.map((t) => [t.name, t]));
  const tensors: SourceTensor[] = source.tensors.map((t) => {
    const type = typeOf(t);
    return { ...t, type, byteLength: tensorBytes(type, t.shape) };
  });
  const targetOf = new Map(tensors.map((t) => [t.name, t.type]));
  return {
    format: source.format,
    path: source.path,
    metadata: source.metadata,
    config: source.config,
    tensors,
    kv: source.kv,
    tokenizerPath: source.tokenizerPath,
    read(name: string): Uint8Array {
      const t = byName.get(name);
      const target = targetOf.get(name);
      if (!t || target === undefined) throw new LlamatsError(`no tensor ${name} in ${source.path}`);
      const bytes = source.read(name);
      if (target === t.type) return bytes;
      const values = toFloat32(bytes, t.type, t.shape);
      if (!ggmlTypeInfo(target)?.quantized) return fromFloat32(values, target, t.shape);
      const [rows, cols] = rowsCols(t.shape);
      return pool ? pool.quantizeRows(target, values, rows, cols, name) : quantizeRows(target, values, rows, cols, undefined, name);
    },
    close: () => source.close(),
  };
}

/** Quantise the model at inPath (GGUF file, HF or Meta folder) to a GGUF at outPath. */
export async function quantizeModel(inPath: string, outPath: string, typeName_: string,
  opts: QuantizeModelOptions = {}): Promise<QuantizeModelResult> {
  const ftype = parseQuantizeType(typeName_);
  const source = openModelSourceSync(inPath);
  let pool: QuantizePool | undefined;
  try {
    refuseAdapter(source);
    if (source.tensors.length === 0) throw new LlamatsError(`${inPath}: no tensors to quantise (a vocabulary-only file?)`);
    const hp = source.config;
    const plan = llamaQuantizePlan(source.tensors, ftype, { nLayers: hp.blockCount, nHeads: hp.headCount, nKvHeads: hp.headCountKv }, {
      pure: opts.pure, outputTensorType: opts.outputTensorType, tokenEmbeddingType: opts.tokenEmbeddingType,
    });
    const requantized: QuantizeModelResult["requantized"] = [];
    for (const t of source.tensors) {
      const to = plan.types.get(t.name)!;
      if (to === t.type || !ggmlTypeInfo(t.type)?.quantized) continue;
      if (!opts.allowRequantize) {
        throw new LlamatsError(`${inPath}: tensor ${t.name} is already ${typeName(t.type)}; requantising it to ${typeName(to)} loses precision (use --allow-requantize, or quantise from the f16/f32 model)`);
      }
      requantized.push({ name: t.name, from: typeName(t.type), to: typeName(to) });
    }
    const typeOf = (t: SourceTensor): GGMLType => plan.types.get(t.name)!;
    const fallbacks = plan.fallbacks;
    if (opts.threads !== undefined && opts.threads > 1) pool = await createQuantizePool(opts.threads);
    const view = convertedSource(source, typeOf, pool); // every type chosen (and refused) before writing
    const written = writeGgufFromSource(view, outPath, {
      extraMetadata: [gguf.u32("general.file_type", ftype.fileType)],
      onProgress: opts.onProgress,
    });
    const types: Record<string, string> = {};
    for (const t of view.tensors) types[t.name] = typeName(t.type);
    return { path: outPath, bytes: written.bytes, types, fallbacks, requantized };
  } finally {
    pool?.dispose();
    source.close();
  }
}
