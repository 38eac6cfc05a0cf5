// Reading tiny/golden/<model>.safetensors cases (see the fixture README and index.json).
import { readFileSync } from "node:fs";
import { openSafetensors } from "@llamats/formats";
import { fixturePath } from "@llamats/testkit";

export interface GoldenCase {
  tokens: Int32Array;
  logitsPos: Int32Array;
  logits: Float32Array; // (k, vocab)
  hiddenFinal: Float32Array; // (n, dim)
  layerOut: Float32Array; // (layers, n or |layerOutPos|, dim)
  layerOutPos?: Int32Array;
  argmax: Int32Array;
  logsumexp: Float32Array;
  top5Ids: Int32Array; // (n, 5)
  top5Vals: Float32Array; // (n, 5)
  greedyIds?: Int32Array;
  greedyFinalLogits?: Float32Array;
}

export interface GoldenIndexCase {
  n_tokens: number;
  greedy_near_tie_steps?: number[];
  rope: { mode: string; alpha: number | null; effective_base: number };
}

export function goldenIndex(): { models: Record<string, { model_dir: string; vocab_size: number; cases: Record<string, GoldenIndexCase> }> } {
  return JSON.parse(readFileSync(fixturePath("tiny/golden/index.json"), "utf8"));
}

export function readGoldenCase(model: string, name: string): GoldenCase {
  const f = openSafetensors(fixturePath(`tiny/golden/${model}.safetensors`));
  try {
    const get = (suffix: string) => {
      const info = f.tensor(`${name}.${suffix}`);
      if (!info) return undefined;
      const b = f.readTensor(info);
      const buf = b.slice().buffer;
      return info.dtype === "I32" ? new Int32Array(buf) : new Float32Array(buf);
    };
    return {
      tokens: get("tokens") as Int32Array,
      logitsPos: get("logits_pos") as Int32Array,
      logits: get("logits") as Float32Array,
      hiddenFinal: get("hidden_final") as Float32Array,
      layerOut: get("layer_out") as Float32Array,
      layerOutPos: get("layer_out_pos") as Int32Array | undefined,
      argmax: get("argmax") as Int32Array,
      logsumexp: get("logsumexp") as Float32Array,
      top5Ids: get("top5_ids") as Int32Array,
      top5Vals: get("top5_vals") as Float32Array,
      greedyIds: get("greedy_ids") as Int32Array | undefined,
      greedyFinalLogits: get("greedy_final_logits") as Float32Array | undefined,
    };
  } finally {
    f.close();
  }
}

export { maxAbsDiff } from "@llamats/testkit";

export function logSumExp(x: Float32Array): number {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  return m + Math.log(s);
}
