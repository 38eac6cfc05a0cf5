// writeGgufFromSource: the one function that writes a model as GGUF (convert, quantize,
// LoRA merge and the synthetic-model builder all go through it). Tensors are converted and
// written one at a time, so memory stays at about one tensor.

import { basename } from "node:path";
import { GGMLType, ggmlTypeInfo, LlamatsError, type ProgressCallback } from "@llamats/tensor";
import type { GgufKV } from "../gguf/types.js";
import { gguf, writeGguf, type GgufWriteTensor } from "../gguf/writer.js";
import type { ModelSource, SourceTensor } from "../source/types.js";
import { convertTensorBytes, tensorBytes } from "./dtype.js";
import { llamaFileType, llamaHParamKv, loadModelProto, tokenizerKv, type TokenizerInput } from "./metadata.js";

export interface WriteGgufFromSourceOptions {
  /** Target type per tensor (default: defaultGgufType: stored type, 1-D F16/BF16 widened to F32). */
  typeFor?(t: SourceTensor): GGMLType;
  /** Entries added last; they replace generated ones with the same key. */
  extraMetadata?: readonly GgufKV[];
  /** SentencePiece tokenizer for tokenizer.ggml.* (default: source.tokenizerPath; false: none). */
  tokenizer?: TokenizerInput | false;
  /** Only these tensors (default: all). */
  filter?(t: SourceTensor): boolean;
  onProgress?: ProgressCallback;
}

export interface WrittenGguf {
  readonly path: string;
  readonly bytes: number;
  readonly tensors: number;
}

/**
 * The default policy of `--dtype X` (and llama.cpp's converters): matrices become X,
 * 1-D tensors (norms) become F32 unless X is F32 itself.
 */
export function dtypePolicy(target: GGMLType): (t: SourceTensor) => GGMLType {
  return (t) => (t.shape.length < 2 && ggmlTypeInfo(target)?.name !== "f32" ? GGMLType.F32 : target);
}

/**
 * The type a tensor keeps in GGUF when nobody asks for another: its own, except that 1-D
 * F16/BF16 tensors (norms) become F32. llama.cpp's CPU kernels refuse f16 norm weights
 * (binary_op: unsupported types, src1 f16), and its converters always store norms as F32;
 * the widening is exact, and the HF / Meta writers narrow them back.
 */
export function defaultGgufType(t: SourceTensor): GGMLType {
  return t.shape.length < 2 && (t.type === GGMLType.F16 || t.type === GGMLType.BF16) ? GGMLType.F32 : t.type;
}

export function writeGgufFromSource(source: ModelSource, outPath: string, opts: WriteGgufFromSourceOptions = {}): WrittenGguf {
  const tensors = opts.filter ? source.tensors.filter(opts.filter) : source.tensors;
  const typeOf = (t: SourceTensor): GGMLType => opts.typeFor?.(t) ?? defaultGgufType(t);

  const kv = new Map<string, GgufKV>();
  const put = (e: GgufKV) => kv.set(e.key, e);
  const fromGguf = source.kv;
  if (source.format === "gguf" && fromGguf) {
    fromGguf.forEach(put);
  } else {
    llamaHParamKv(source.config, basename(source.path).replace(/\.[^.]*$/, "")).forEach(put);
    const tok = opts.tokenizer === undefined ? source.tokenizerPath : opts.tokenizer;
    if (tok) tokenizerKv(loadModelProto(tok)).forEach(put);
  }
  const main = tensors.find((t) => t.name === "blk.0.attn_q.weight") ?? tensors.find((t) => t.shape.length >= 2);
  const ftype = main ? llamaFileType(typeOf(main)) : undefined;
  if (ftype !== undefined) put(gguf.u32("general.file_type", ftype));
  if (tensors.some((t) => ggmlTypeInfo(typeOf(t))?.quantized)) put(gguf.u32("general.quantization_version", 2));
  opts.extraMetadata?.forEach(put);

  const toWrite: GgufWriteTensor[] = tensors.map((t) => {
    const type = typeOf(t);
    if (!ggmlTypeInfo(type)) throw new LlamatsError(`tensor ${t.name}: unknown target type ${type}`);
    tensorBytes(type, t.shape); // fails early on rows that do not fit the target's blocks
    return {
      name: t.name, type, shape: t.shape,
      data: () => convertTensorBytes(source.read(t.name), t.type, type, t.shape),
    };
  });
  const bytes = writeGguf(outPath, { kv: [...kv.values()], tensors: toWrite, onProgress: opts.onProgress });
  return { path: outPath, bytes, tensors: toWrite.length };
}
