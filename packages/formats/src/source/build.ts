// Shared machinery of every ModelSource: a table of canonical tensors, each with a reader
// of its stored bytes and, for Hugging Face Q/K, the head count of the rotate-half ->
// interleaved permutation applied at read time (the one place it happens).

import { FormatError } from "@llamats/tensor";
import { permuteQkRows } from "../permute.js";
import type { ExtraTensor, LlamaHParams, ModelSource, SourceFormat, SourceTensor } from "./types.js";

export interface SourceEntry {
  readonly tensor: SourceTensor;
  readRaw(dst?: Uint8Array): Uint8Array;
  /** Stored in HF rotate-half order with this many heads: permute rows on read. */
  readonly permuteHeads?: number;
}

export function buildSource(args: {
  format: SourceFormat;
  path: string;
  metadata: Record<string, unknown>;
  config: LlamaHParams;
  entries: readonly SourceEntry[];
  tokenizerPath?: string;
  extras?: readonly ExtraTensor[];
  close(): void;
}): ModelSource {
  const byName = new Map<string, SourceEntry>();
  for (const e of args.entries) {
    if (byName.has(e.tensor.name)) {
      throw new FormatError(args.path, `tensor "${e.tensor.sourceName}"`, 0, `maps to "${e.tensor.name}", which another tensor already maps to`);
    }
    byName.set(e.tensor.name, e);
  }
  return {
    format: args.format,
    path: args.path,
    metadata: args.metadata,
    config: args.config,
    tensors: args.entries.map((e) => e.tensor),
    ...(args.tokenizerPath ? { tokenizerPath: args.tokenizerPath } : {}),
    ...(args.extras?.length ? { extras: args.extras } : {}),
    read(name: string, dst?: Uint8Array): Uint8Array {
      const e = byName.get(name);
      if (!e) throw new FormatError(args.path, "tensor", 0, `no tensor named "${name}"`);
      if (e.permuteHeads === undefined) return e.readRaw(dst);
      const raw = e.readRaw();
      const out = dst ? dst.subarray(0, raw.length) : new Uint8Array(raw.length);
      return permuteQkRows(raw, e.tensor.shape[0], e.permuteHeads, "hfToInterleaved", out);
    },
    close: args.close,
  };
}

/** Fill hyper-parameters a source leaves unstated from the canonical tensors' shapes. */
export function completeHParams(path: string, stated: LlamaHParams, tensors: readonly SourceTensor[]): LlamaHParams {
  const get = (n: string) => tensors.find((t) => t.name === n);
  const hp: LlamaHParams = { ...stated };
  const emb = get("token_embd.weight");
  if (emb && emb.shape.length === 2) {
    hp.vocabSize ??= emb.shape[0];
    hp.embeddingLength ??= emb.shape[1];
  }
  let blocks = 0;
  for (const t of tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
  }
  if (blocks > 0) hp.blockCount ??= blocks;
  const gate = get("blk.0.ffn_gate.weight");
  if (gate && gate.shape.length === 2) hp.feedForwardLength ??= gate.shape[0];
  if (hp.headCount && hp.embeddingLength) {
    const headDim = hp.embeddingLength / hp.headCount;
    hp.ropeDimensionCount ??= headDim;
    const k = get("blk.0.attn_k.weight");
    if (k && k.shape.length === 2 && Number.isInteger(k.shape[0] / headDim)) hp.headCountKv ??= k.shape[0] / headDim;
  }
  if (hp.headCount !== undefined) hp.headCountKv ??= hp.headCount;
  if (hp.headCount && hp.embeddingLength && hp.embeddingLength % hp.headCount !== 0) {
    throw new FormatError(path, "head count", 0, `embedding length ${hp.embeddingLength} is not a multiple of ${hp.headCount} heads`);
  }
  return hp;
}

/** A number field of a JSON config, or undefined; throws on a present non-number. */
export function numField(path: string, obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new FormatError(path, key, 0, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}
