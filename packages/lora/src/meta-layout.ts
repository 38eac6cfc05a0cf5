// Meta's checkpoint names as the seed's merge script writes them (`--output_type pth`), and
// the model-parallel shard count per model width. How each tensor is cut across the
// `consolidated.0{s}.pth` shards is formats' (metaShardSplit / splitMetaTensor in meta.ts).

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
