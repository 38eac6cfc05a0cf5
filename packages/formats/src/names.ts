// One canonical tensor naming, GGUF's, and one mapping table per foreign layout.
// Canonical: token_embd.weight, output_norm.weight, output.weight and per block N
// blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_down, ffn_up}.weight.
// Hugging Face and PEFT store Q/K rows in rotate-half order: sources apply
// permuteQkRows (permute.ts) when they map those tensors; Meta, llama2.c and GGUF are
// already interleaved.

/** The per-block tensor kinds, in the order llama.cpp writes them. */
export const BLOCK_TENSORS = [
  "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up",
] as const;
export type BlockTensor = (typeof BLOCK_TENSORS)[number];

const HF_BLOCK: Record<string, BlockTensor> = {
  "input_layernorm": "attn_norm",
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  "post_attention_layernorm": "ffn_norm",
  "mlp.gate_proj": "ffn_gate",
  "mlp.down_proj": "ffn_down",
  "mlp.up_proj": "ffn_up",
};
const HF_GLOBAL: Record<string, string> = {
  "model.embed_tokens": "token_embd",
  "model.norm": "output_norm",
  "lm_head": "output",
};

const META_BLOCK: Record<string, BlockTensor> = {
  "attention_norm": "attn_norm",
  "attention.wq": "attn_q",
  "attention.wk": "attn_k",
  "attention.wv": "attn_v",
  "attention.wo": "attn_output",
  "ffn_norm": "ffn_norm",
  "feed_forward.w1": "ffn_gate",
  "feed_forward.w2": "ffn_down",
  "feed_forward.w3": "ffn_up",
};
const META_GLOBAL: Record<string, string> = {
  "tok_embeddings": "token_embd",
  "norm": "output_norm",
  "output": "output",
};

function invert<T extends string>(m: Record<string, T>): Record<T, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [v, k])) as Record<T, string>;
}
const HF_BLOCK_INV = invert(HF_BLOCK);
const HF_GLOBAL_INV = invert(HF_GLOBAL);
const META_BLOCK_INV = invert(META_BLOCK);
const META_GLOBAL_INV = invert(META_GLOBAL);

/** Whether a canonical tensor needs the HF <-> interleaved Q/K row permutation, and with which head count. */
export function qkKind(canonical: string): "q" | "k" | undefined {
  if (/^blk\.\d+\.attn_q\.weight$/.test(canonical)) return "q";
  if (/^blk\.\d+\.attn_k\.weight$/.test(canonical)) return "k";
  return undefined;
}

/** HF name ("model.layers.3.self_attn.q_proj.weight") -> canonical, or undefined (e.g. rotary_emb.inv_freq). */
export function canonicalFromHf(name: string): string | undefined {
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (m) {
    const kind = HF_BLOCK[m[2]];
    return kind ? `blk.${m[1]}.${kind}.${m[3]}` : undefined;
  }
  const g = /^(.+)\.(weight|bias)$/.exec(name);
  const base = g && HF_GLOBAL[g[1]];
  return base ? `${base}.${g![2]}` : undefined;
}

/** canonical -> HF name. */
export function hfFromCanonical(name: string): string | undefined {
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (m) {
    const hf = HF_BLOCK_INV[m[2] as BlockTensor];
    return hf ? `model.layers.${m[1]}.${hf}.${m[3]}` : undefined;
  }
  const g = /^([a-z_]+)\.(weight|bias)$/.exec(name);
  const base = g && (HF_GLOBAL_INV as Record<string, string>)[g[1]];
  return base ? `${base}.${g![2]}` : undefined;
}

/** Meta name ("layers.3.attention.wq.weight") -> canonical, or undefined (e.g. rope.freqs). */
export function canonicalFromMeta(name: string): string | undefined {
  const m = /^layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (m) {
    const kind = META_BLOCK[m[2]];
    return kind ? `blk.${m[1]}.${kind}.${m[3]}` : undefined;
  }
  const g = /^(.+)\.(weight|bias)$/.exec(name);
  const base = g && META_GLOBAL[g[1]];
  return base ? `${base}.${g![2]}` : undefined;
}

/** canonical -> Meta name. */
export function metaFromCanonical(name: string): string | undefined {
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (m) {
    const meta = META_BLOCK_INV[m[2] as BlockTensor];
    return meta ? `layers.${m[1]}.${meta}.${m[3]}` : undefined;
  }
  const g = /^([a-z_]+)\.(weight|bias)$/.exec(name);
  const base = g && (META_GLOBAL_INV as Record<string, string>)[g[1]];
  return base ? `${base}.${g![2]}` : undefined;
}

export interface PeftName {
  /** Canonical name of the base tensor the entry applies to. */
  readonly canonical: string;
  /** lora_A (r, in), lora_B (out, r), or a full replacement tensor (modules_to_save). */
  readonly part: "lora_A" | "lora_B" | "full";
}

/**
 * PEFT adapter key -> base tensor and part:
 * "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" -> {blk.0.attn_q.weight, lora_A};
 * "base_model.model.lm_head.weight" -> {output.weight, full}. Also accepts the
 * "...lora_A.default.weight" spelling and the "modules_to_save.default" wrapper.
 * For attn_q / attn_k only lora_B's rows need the Q/K permutation (delta = B A permutes as B).
 */
export function canonicalFromPeft(key: string): PeftName | undefined {
  let k = key.replace(/^base_model\.model\./, "");
  k = k.replace(/\.modules_to_save\.default\./, ".").replace(/\.original_module\./, ".");
  const lora = /^(.+)\.(lora_A|lora_B)(?:\.default)?\.weight$/.exec(k);
  if (lora) {
    const canonical = canonicalFromHf(`${lora[1]}.weight`);
    return canonical ? { canonical, part: lora[2] as "lora_A" | "lora_B" } : undefined;
  }
  const canonical = canonicalFromHf(k);
  return canonical ? { canonical, part: "full" } : undefined;
}

/** llama2.c run.c field (as Llama2cTensor.sourceName, "wq[3]") -> canonical. */
export function canonicalFromLlama2c(sourceName: string): string | undefined {
  const table: Record<string, string> = {
    rms_att_weight: "attn_norm", wq: "attn_q", wk: "attn_k", wv: "attn_v", wo: "attn_output",
    rms_ffn_weight: "ffn_norm", w1: "ffn_gate", w2: "ffn_down", w3: "ffn_up",
  };
  const m = /^(\w+)\[(\d+)\]$/.exec(sourceName);
  if (m) return table[m[1]] ? `blk.${m[2]}.${table[m[1]]}.weight` : undefined;
  const g: Record<string, string> = { token_embedding_table: "token_embd.weight", rms_final_weight: "output_norm.weight", wcls: "output.weight" };
  return g[sourceName];
}

/** Sort key putting canonical tensors in llama.cpp's order: token_embd, blocks (by index,
 *  kinds in BLOCK_TENSORS order), output_norm, output, then anything else by name. */
export function canonicalOrder(a: string, b: string): number {
  const key = (n: string): [number, number, number, string] => {
    if (n.startsWith("token_embd.")) return [0, 0, 0, n];
    const m = /^blk\.(\d+)\.([a-z_]+)\./.exec(n);
    if (m) {
      const k = BLOCK_TENSORS.indexOf(m[2] as BlockTensor);
      return [1, Number(m[1]), k < 0 ? 99 : k, n];
    }
    if (n.startsWith("output_norm.")) return [2, 0, 0, n];
    if (n.startsWith("output.")) return [3, 0, 0, n];
    return [4, 0, 0, n];
  };
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
  return ka[3] < kb[3] ? -1 : ka[3] > kb[3] ? 1 : 0;
}
