// `--output-type pth`: a merged model as Meta's consolidated.0{s}.pth + params.json, the way
// the seed's merge script writes it: Meta names, wq/wk rows un-permuted to the interleaved
// order, model-parallel shards split along FairScale's axes (shard count from the model
// width: 7B 1, 13B 2, 33B 4, 65B 8, unless overridden), tokenizer files beside them.
// Reads the merged HF tensors one at a time from a staged HF folder and streams each shard.

import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError, type ProgressCallback } from "@llamats/tensor";
import { permuteQkRows, writeTorchCheckpoint } from "@llamats/formats";
import type { BaseModel } from "./base-model.js";
import { TOKENIZER_FILES } from "./merge-hf.js";
import { hfToMetaKey, metaShardCount, metaShardSplit, shardShape, shardSlice } from "./meta-layout.js";
import { elemBytes, type TensorRef } from "./tensor-files.js";

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

/** Python's repr of a float, as json.dump writes it (1e-06, 1e-05, 0.0001). */
function pyFloat(x: number): string {
  if (Number.isInteger(x)) return `${x}.0`;
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 16) {
    const [m, e] = x.toExponential().split("e");
    const en = Number(e);
    return `${m}e${en < 0 ? "-" : "+"}${String(Math.abs(en)).padStart(2, "0")}`;
  }
  return String(x);
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
  const nShards = opts.shards ?? metaShardCount(dim);
  if (!Number.isInteger(nShards) || nShards < 1 || nShards > 64) throw new LlamatsError(`--pth-shards must be 1..64, got ${opts.shards}`);
  const entries: { meta: string; t: TensorRef }[] = [];
  for (const [name, t] of merged.byName) {
    const meta = hfToMetaKey(name);
    if (meta) entries.push({ meta, t });
  }
  entries.sort((a, b) => metaOrder(a.meta, b.meta));
  const total = entries.reduce((s, e) => s + e.t.byteLength, 0) * nShards;
  let done = 0;
  const files: string[] = [];
  for (let s = 0; s < nShards; s++) {
    const file = `consolidated.${String(s).padStart(2, "0")}.pth`;
    const tensors = entries.map(({ meta, t }) => {
      const split = metaShardSplit(meta);
      const eb = elemBytes(t.dtype);
      const shape = shardShape(t.shape, split, nShards, s, meta); // known before the data: the writer needs it first
      return {
        name: meta, dtype: t.dtype, shape,
        data: () => {
          opts.onProgress?.({ done, total, unit: "bytes", label: `${file} ${meta}` });
          let bytes = t.read();
          if (/\.attention\.w[qk]\.weight$/.test(meta)) {
            const heads = meta.includes(".wk.") ? nKvHeads : nHeads;
            bytes = permuteQkRows(bytes, t.shape[0], heads, "hfToInterleaved");
          }
          done += t.byteLength;
          return shardSlice(bytes, t.shape, eb, split, nShards, s, meta).bytes;
        },
      };
    });
    writeTorchCheckpoint(join(outDir, file), tensors);
    files.push(file);
  }
  opts.onProgress?.({ done: total, total, unit: "bytes" });
  const ffn = Number(cfg.intermediate_size);
  const eps = Number(cfg.rms_norm_eps ?? 1e-6);
  const params = `{"dim": ${dim}, "multiple_of": ${multipleOfFor(dim, ffn)}, "n_heads": ${nHeads}, "n_layers": ${nLayers}, ` +
    `${nKvHeads !== nHeads ? `"n_kv_heads": ${nKvHeads}, ` : ""}"norm_eps": ${pyFloat(eps)}, "vocab_size": -1}`;
  writeFileSync(join(outDir, "params.json"), params);
  files.push("params.json");
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(merged.dir, f))) {
      copyFileSync(join(merged.dir, f), join(outDir, f));
      files.push(f);
    }
  }
  return files;
}
