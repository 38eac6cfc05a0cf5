// Meta's checkpoint layout as the seed's merge script writes it (`--output_type pth`):
// Meta tensor names (wq/wk rows go back to RoPE-interleaved order through formats'
// permuteQkRows), model-parallel shards (`consolidated.0{s}.pth`) split along the axis
// Meta's FairScale layers use, params.json.
// Pure functions over row-major byte buffers; the writer streams them to disk.

import { LlamatsError } from "@llamats/tensor";

/** Meta shard count per model width (§1 of the seed notes); other widths: one shard. */
export function metaShardCount(dim: number): number {
  return ({ 4096: 1, 5120: 2, 6656: 4, 8192: 8 } as Record<number, number>)[dim] ?? 1;
}

const layerMap: Record<string, string> = {
  "self_attn.q_proj": "attention.wq",
  "self_attn.k_proj": "attention.wk",
  "self_attn.v_proj": "attention.wv",
  "self_attn.o_proj": "attention.wo",
  "mlp.gate_proj": "feed_forward.w1",
  "mlp.down_proj": "feed_forward.w2",
  "mlp.up_proj": "feed_forward.w3",
  input_layernorm: "attention_norm",
  post_attention_layernorm: "ffn_norm",
};

/**
 * HF key -> Meta key, as translate_state_dict_key() in the seed's merge script; undefined
 * for keys Meta checkpoints do not carry (rotary_emb.inv_freq, anything with "lora").
 * Unknown keys throw, as the seed does.
 */
export function hfToMetaKey(key: string): string | undefined {
  if (key.endsWith("rotary_emb.inv_freq") || key.includes("lora")) return undefined;
  if (key === "model.embed_tokens.weight") return "tok_embeddings.weight";
  if (key === "model.norm.weight") return "norm.weight";
  if (key === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(key);
  const mapped = m ? layerMap[m[2]] : undefined;
  if (!m || !mapped) throw new LlamatsError(`cannot map tensor "${key}" to a Meta checkpoint name`);
  return `layers.${m[1]}.${mapped}.${m[3]}`;
}

/** Meta key -> HF key (the inverse of hfToMetaKey); undefined for an unknown key. */
export function metaToHfKey(key: string): string | undefined {
  if (key === "tok_embeddings.weight") return "model.embed_tokens.weight";
  if (key === "norm.weight") return "model.norm.weight";
  if (key === "output.weight") return "lm_head.weight";
  const m = /^layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(key);
  if (!m) return undefined;
  const hf = Object.entries(layerMap).find(([, meta]) => meta === m[2]);
  return hf ? `model.layers.${m[1]}.${hf[0]}.${m[3]}` : undefined;
}

/** How a Meta tensor is split across model-parallel shards. */
export type ShardSplit = "replicate" | "rows" | "cols" | "output-rows";

export function metaShardSplit(metaKey: string): ShardSplit {
  if (metaKey.endsWith("norm.weight")) return "replicate";
  if (metaKey === "tok_embeddings.weight") return "cols";
  if (metaKey === "output.weight") return "output-rows";
  if (/\.(wo|w2)\.weight$/.test(metaKey)) return "cols";
  if (/\.(wq|wk|wv|w1|w3)\.weight$/.test(metaKey)) return "rows";
  throw new LlamatsError(`no model-parallel split known for "${metaKey}"`);
}

/** The shape of shard `s` of a tensor split `split` ways (see shardSlice). */
export function shardShape(shape: readonly number[], split: ShardSplit, nShards: number, s: number, name = "tensor"): number[] {
  if (nShards === 1 || split === "replicate" || shape.length < 2) return [...shape];
  const [rows, cols] = shape;
  if (split === "cols") {
    if (cols % nShards !== 0) throw new LlamatsError(`${name}: ${cols} columns do not split into ${nShards} equal shards`);
    return [rows, cols / nShards];
  }
  if (split === "rows") {
    if (rows % nShards !== 0) throw new LlamatsError(`${name}: ${rows} rows do not split into ${nShards} equal shards`);
    return [rows / nShards, cols];
  }
  const base = Math.floor(rows / nShards);
  return [s === nShards - 1 ? rows - base * (nShards - 1) : base, cols];
}

/**
 * Shard `s` of `nShards` of a 2-D (rows, cols) tensor (1-D tensors are replicated).
 * "rows"/"cols" must divide evenly (the seed asserts it); "output-rows" gives every shard
 * floor(rows/n) rows and the remainder to the last (13B: 49953 -> 24976 + 24977).
 */
export function shardSlice(
  bytes: Uint8Array,
  shape: readonly number[],
  elemBytes: number,
  split: ShardSplit,
  nShards: number,
  s: number,
  name = "tensor",
): { bytes: Uint8Array; shape: number[] } {
  if (nShards === 1 || split === "replicate" || shape.length < 2) return { bytes, shape: [...shape] };
  const [rows, cols] = shape;
  if (split === "cols") {
    if (cols % nShards !== 0) throw new LlamatsError(`${name}: ${cols} columns do not split into ${nShards} equal shards`);
    const part = cols / nShards;
    const rowBytes = part * elemBytes;
    const out = new Uint8Array(rows * rowBytes);
    for (let r = 0; r < rows; r++) {
      const from = (r * cols + s * part) * elemBytes;
      out.set(bytes.subarray(from, from + rowBytes), r * rowBytes);
    }
    return { bytes: out, shape: [rows, part] };
  }
  let start: number;
  let count: number;
  if (split === "rows") {
    if (rows % nShards !== 0) throw new LlamatsError(`${name}: ${rows} rows do not split into ${nShards} equal shards`);
    count = rows / nShards;
    start = s * count;
  } else {
    const base = Math.floor(rows / nShards);
    start = s * base;
    count = s === nShards - 1 ? rows - base * (nShards - 1) : base;
  }
  const rowBytes = cols * elemBytes;
  return { bytes: bytes.slice(start * rowBytes, (start + count) * rowBytes), shape: [count, cols] };
}

/** Meta's params.json for the merged model, as the seed writes it. */
export function metaParams(dim: number, nHeads: number, nLayers: number, normEps: number, multipleOf = 256): Record<string, number> {
  return { dim, multiple_of: multipleOf, n_heads: nHeads, n_layers: nLayers, norm_eps: normEps, vocab_size: -1 };
}
