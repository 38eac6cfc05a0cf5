// `--output-type pth`: a merged model as Meta's consolidated.0{s}.pth + params.json, the way
// the seed's merge script writes it: Meta names, wq/wk rows un-permuted to the interleaved
// order, model-parallel shards split along FairScale's axes (shard count from the model
// width: 7B 1, 13B 2, 33B 4, 65B 8, unless overridden), tokenizer files beside them.
// Reads each merged HF tensor once from a staged HF folder; formats' writeMetaCheckpoint
// cuts it and streams every shard side by side.

import { copyFileSync, existsSync } from "node:fs";
import { basename, join } from "node:path";
import { type ProgressCallback } from "@llamats/tensor";
import { permuteQkRows, writeMetaCheckpoint, type MetaParams } from "@llamats/formats";
import type { BaseModel } from "./base-model.js";
import { TOKENIZER_FILES } from "./merge-hf.js";
import { hfToMetaKey, metaShardCount } from "./meta-layout.js";
import type { TensorRef } from "./tensor-files.js";

const LAYER_ORDER = ["attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1", "feed_forward.w2", "feed_forward.w3", "attention_norm", "ffn_norm"];

/** Meta's state-dict order: tok_embeddings, each layer's tensors, norm, output. */
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

/** The multiple_of that makes Meta's ffn formula give intermediate_size (256 for real models). */
export function multipleOfFor(dim: number, ffn: number): number {
  for (let m = 256; m >= 1; m /= 2) {
    if (m * Math.ceil(Math.floor((8 * dim) / 3) / m) === ffn) return m;
  }
  return 256;
}

export interface PthWriteOptions {
  shards?: number;
  onProgress?: ProgressCallback;
}

/** Write the Meta checkpoint of the merged HF model `merged` into `outDir`; returns file names. */
export function writeMetaFromHf(merged: BaseModel, outDir: string, opts: PthWriteOptions = {}): string[] {
  const cfg = merged.config;
  const dim = Number(cfg.hidden_size);
  const nHeads = Number(cfg.num_attention_heads);
  const nKvHeads = Number(cfg.num_key_value_heads ?? nHeads);
  const nLayers = Number(cfg.num_hidden_layers);
  const entries: { meta: string; t: TensorRef }[] = [];
  for (const [name, t] of merged.byName) {
    const meta = hfToMetaKey(name);
    if (meta) entries.push({ meta, t });
  }
  entries.sort((a, b) => metaOrder(a.meta, b.meta));
  // Key order as the seed's json.dump writes it.
  const params: MetaParams = {
    dim, multiple_of: multipleOfFor(dim, Number(cfg.intermediate_size)), n_heads: nHeads, n_layers: nLayers,
    ...(nKvHeads !== nHeads ? { n_kv_heads: nKvHeads } : {}),
    norm_eps: Number(cfg.rms_norm_eps ?? 1e-6), vocab_size: -1,
  };
  // Each merged tensor is read (and its wq/wk rows re-interleaved) once, then cut into the
  // shards by formats' writeMetaCheckpoint.
  const tensors = entries.map(({ meta, t }) => ({
    name: meta, dtype: t.dtype, shape: t.shape,
    data: () => /\.attention\.w[qk]\.weight$/.test(meta)
      ? permuteQkRows(t.read(), t.shape[0], meta.includes(".wk.") ? nKvHeads : nHeads, "hfToInterleaved")
      : t.read(),
  }));
  const written = writeMetaCheckpoint(outDir, params, tensors, { nShards: opts.shards ?? metaShardCount(dim), onProgress: opts.onProgress });
  const files = written.map((f) => basename(f));
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(merged.dir, f))) {
      copyFileSync(join(merged.dir, f), join(outDir, f));
      files.push(f);
    }
  }
  return files;
}
