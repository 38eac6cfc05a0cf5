// Shared machinery of every ModelSource: a table of canonical tensors, each with a reader
// of its stored bytes and, for Hugging Face Q/K, the head count of the rotate-half ->
// interleaved permutation applied at read time (the one place it happens).

import { FormatError, type LlamaConfigInput } from "@llamats/tensor";
import { permuteQkRows } from "../permute.js";
import type { ExtraTensor, ModelSource, SourceFormat, SourceTensor } from "./types.js";

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
  config: LlamaConfigInput;
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
