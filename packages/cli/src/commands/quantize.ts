// `llamats quantize IN OUT TYPE [--pure] [--output-tensor-type T] [--token-embedding-type T]
// [--threads N]`: llama-quantize for GGUF, Hugging Face and Meta inputs. Which tensor gets
// which type follows llama.cpp (@llamats/quant llamaQuantizeTypeFor); the quantisers are
// byte-identical to llama.cpp's reference ones. Output goes to OUT.tmp-<pid>, renamed when
// complete; progress and the summary on stderr, nothing on stdout. NaN / Inf weights are
// refused with the tensor name and block index (exit 2).
// --threads N quantises each tensor's rows on N threads (@llamats/quant createQuantizePool);
// the GGUF writer still streams one tensor at a time, so memory stays at about one tensor.

import type { Command } from "commander";
import { GGMLType, LlamatsError, ggmlTypeInfo, type ProgressCallback } from "@llamats/tensor";
import { createQuantizePool, llamaQuantizeTypeFor, parseQuantizeType, parseTensorType, quantizeRows, type QuantizePool } from "@llamats/quant";
import {
  fromFloat32, gguf, openModelSourceSync, rowsCols, tensorBytes, toFloat32, writeGgufFromSource,
  type ModelSource, type SourceTensor,
} from "@llamats/formats";
import { ProgressBar } from "../progress.js";
import { parseIntArg } from "./model-options.js";

export interface QuantizeModelOptions {
  readonly pure?: boolean;
  readonly outputTensorType?: GGMLType;
  readonly tokenEmbeddingType?: GGMLType;
  /** Threads quantising each tensor's rows (default 1: this thread only). */
  readonly threads?: number;
  readonly onProgress?: ProgressCallback;
}

export interface QuantizeModelResult {
  readonly path: string;
  readonly bytes: number;
  /** Tensor name -> type name as written. */
  readonly types: Record<string, string>;
}

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
export async function quantizeModelFile(inPath: string, outPath: string, typeName: string,
  opts: QuantizeModelOptions = {}): Promise<QuantizeModelResult> {
  const ftype = parseQuantizeType(typeName);
  const source = openModelSourceSync(inPath);
  const pool = opts.threads !== undefined && opts.threads > 1 ? await createQuantizePool(opts.threads) : undefined;
  try {
    const hasOutput = source.tensors.some((t) => t.name === "output.weight");
    const typeOf = (t: SourceTensor): GGMLType => llamaQuantizeTypeFor(t.name, t.shape, ftype.type, {
      pure: opts.pure, outputTensorType: opts.outputTensorType, tokenEmbeddingType: opts.tokenEmbeddingType,
      hasOutput, sourceType: t.type,
    });
    const view = convertedSource(source, typeOf, pool);
    const written = writeGgufFromSource(view, outPath, {
      extraMetadata: [gguf.u32("general.file_type", ftype.fileType)],
      onProgress: opts.onProgress,
    });
    const types: Record<string, string> = {};
    for (const t of view.tensors) types[t.name] = ggmlTypeInfo(t.type)?.name ?? String(t.type);
    return { path: outPath, bytes: written.bytes, types };
  } finally {
    pool?.dispose();
    source.close();
  }
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("quantise a model (GGUF, HF or Meta) to a GGUF file, as llama-quantize does")
    .argument("<in>", "input model: GGUF file, Hugging Face folder or Meta .pth folder")
    .argument("<out>", "output GGUF file")
    .argument("<type>", "q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k, f16, bf16 or f32 (any case)")
    .option("--pure", "no mixed types: output.weight gets TYPE too")
    .option("--output-tensor-type <t>", "type of output.weight")
    .option("--token-embedding-type <t>", "type of token_embd.weight")
    .option("--threads <n>", "threads quantising each tensor (default 1)")
    .action(async (inPath: string, outPath: string, type: string,
      o: { pure?: boolean; outputTensorType?: string; tokenEmbeddingType?: string; threads?: string }) => {
      const threads = o.threads !== undefined ? parseIntArg("--threads", o.threads, 1) : 1;
      const ftype = parseQuantizeType(type);
      const bar = new ProgressBar(`quantize ${ftype.name}`);
      const t0 = Date.now();
      const r = await quantizeModelFile(inPath, outPath, type, {
        pure: o.pure,
        threads,
        outputTensorType: o.outputTensorType !== undefined ? parseTensorType(o.outputTensorType) : undefined,
        tokenEmbeddingType: o.tokenEmbeddingType !== undefined ? parseTensorType(o.tokenEmbeddingType) : undefined,
        onProgress: bar.update,
      });
      bar.done();
      const counts = new Map<string, number>();
      for (const t of Object.values(r.types)) counts.set(t, (counts.get(t) ?? 0) + 1);
      const mix = [...counts].map(([t, n]) => `${n} ${t}`).join(", ");
      process.stderr.write(`wrote ${outPath}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, tensors ${mix}, in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
}
