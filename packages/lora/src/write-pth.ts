// `--output-type pth`: a canonical (merged) source as Meta's consolidated.0{s}.pth +
// params.json, the way the seed's merge script writes it: Meta names (formats' table),
// Q/K rows interleaved (the canonical layout already is), tensors in the seed's state-dict
// order, model-parallel shards split along FairScale's axes by formats' writeMetaCheckpoint
// (shard count from the model width: 7B 1, 13B 2, 33B 4, 65B 8, unless overridden),
// tokenizer files beside them.

import { basename } from "node:path";
import { ggmlTypeInfo, LlamatsError, type ProgressCallback } from "@llamats/tensor";
import { metaFromCanonical, multipleOfFor, torchDtypeOfGgml, writeMetaCheckpoint, type MetaParams, type ModelSource } from "@llamats/formats";
import type { MergeBase } from "./base.js";
import { copyTokenizerFiles } from "./write-hf.js";

/** Meta shard count per model width (§1 of the seed notes); other widths: one shard. */
export function metaShardCount(dim: number): number {
  return ({ 4096: 1, 5120: 2, 6656: 4, 8192: 8 } as Record<number, number>)[dim] ?? 1;
}

const LAYER_ORDER = ["attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1", "feed_forward.w2", "feed_forward.w3", "attention_norm", "ffn_norm"];

/** The seed's state-dict order: tok_embeddings, each layer's tensors, norm, output. */
function metaOrder(a: string, b: string): number {
  const rank = (k: string): [number, number, number] => {
    if (k.startsWith("tok_embeddings")) return [0, 0, 0];
    const m = /^layers\.(\d+)\.(.+)\.weight$/.exec(k);
    if (m) return [1, Number(m[1]), LAYER_ORDER.indexOf(m[2])];
    return k.startsWith("norm") ? [2, 0, 0] : [3, 0, 0];
  };
  const ra = rank(a), rb = rank(b);
  return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || (a < b ? -1 : a > b ? 1 : 0);
}

export interface PthWriteOptions {
  shards?: number;
  /** Folder whose tokenizer files are copied beside the shards. */
  tokenizerDir?: string;
  onProgress?: ProgressCallback;
}

/** Write `source` into `outDir` as a Meta checkpoint; returns the file names. */
export function writePth(source: ModelSource, outDir: string, opts: PthWriteOptions = {}): string[] {
  const hp = source.config;
  const dim = hp.embeddingLength, nHeads = hp.headCount, nLayers = hp.blockCount, ffn = hp.feedForwardLength;
  if (!dim || !nHeads || !nLayers || !ffn) throw new LlamatsError(`${source.path}: width, heads, layers or FFN width unknown: cannot write params.json`);
  const nKvHeads = hp.headCountKv ?? nHeads;
  // Key order as the seed's json.dump writes it.
  const params: MetaParams = {
    dim, multiple_of: multipleOfFor(dim, ffn) ?? 256, n_heads: nHeads, n_layers: nLayers,
    ...(nKvHeads !== nHeads ? { n_kv_heads: nKvHeads } : {}),
    norm_eps: hp.layerNormRmsEpsilon ?? 1e-6, vocab_size: -1,
  };
  const tensors = source.tensors.flatMap((t) => {
    const name = metaFromCanonical(t.name);
    if (!name) return [];
    const dtype = torchDtypeOfGgml(t.type);
    if (!dtype) throw new LlamatsError(`${t.name}: ${ggmlTypeInfo(t.type)?.name ?? t.type} cannot be stored in a .pth`);
    return [{ name, dtype, shape: t.shape, data: () => source.read(t.name) }];
  }).sort((a, b) => metaOrder(a.name, b.name));
  const written = writeMetaCheckpoint(outDir, params, tensors, { nShards: opts.shards ?? metaShardCount(dim), onProgress: opts.onProgress });
  const files = written.map((f) => basename(f));
  if (opts.tokenizerDir) files.push(...copyTokenizerFiles(opts.tokenizerDir, outDir));
  return files;
}

/** A merge base (or any model folder opened by openBaseModel) as a Meta checkpoint. */
export function writeMetaFromHf(base: MergeBase, outDir: string, opts: PthWriteOptions = {}): string[] {
  return writePth(base.source, outDir, { tokenizerDir: base.dir, ...opts });
}
