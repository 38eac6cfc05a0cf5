// Random small LLaMA models for property tests, and a deliberately naive reference forward:
// no KV cache, every position recomputed from scratch, weights dequantised up front, all
// arithmetic in f64. It shares nothing with src/forward.ts but ropeParamsFor (the scaling rule
// under test elsewhere).
import { quantizeRows, dequantizeRows } from "@llamats/quant";
import { type LlamaWeights, type LoraDelta, buildWeights, ropeParamsFor, type RawTensor } from "@llamats/model";
import { GGMLType, buildLlamaConfig, type LlamaConfig, type WeightMatrix } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";

export interface SynthSpec {
  nKvHeads: number;
  group: number;
  headDim: number;
  nLayers: number;
  ffnDim: number;
  vocabSize: number;
}

export function synthConfig(s: SynthSpec, extra: Partial<LlamaConfig> = {}): LlamaConfig {
  const nHeads = s.nKvHeads * s.group;
  return buildLlamaConfig({
    embeddingLength: nHeads * s.headDim, blockCount: s.nLayers, headCount: nHeads, headCountKv: s.nKvHeads, keyLength: s.headDim,
    feedForwardLength: s.ffnDim, vocabSize: s.vocabSize, layerNormRmsEpsilon: 1e-5, ropeFreqBase: 10000, contextLength: 64, ...extra,
  }, "synthetic");
}

export function weightFrom(type: GGMLType, values: Float32Array, rows: number, cols: number): WeightMatrix {
  return { type, rows, cols, bytes: quantizeRows(type, values, rows, cols) };
}

/**
 * Random weights; `typeFor` picks each matrix's type (default F32). Norms near 1.
 * `ulpJitterSeed`, when given, moves every value one f32 ulp up or down at random: the same
 * model as far as any f32 engine can tell, used to measure how much the f64 reference itself
 * moves under f32-sized rounding (see referenceSensitivity).
 */
export function synthWeights(cfg: LlamaConfig, seed: number, typeFor: (name: string) => GGMLType = () => GGMLType.F32, std = 0.5, ulpJitterSeed?: number): LlamaWeights {
  let k = seed * 1000;
  const jitter = ulpJitterSeed === undefined ? (v: Float32Array) => v : (v: Float32Array) => jitterOneUlp(v, ulpJitterSeed + k);
  const get = (name: string): RawTensor | undefined => {
    const { embeddingLength: dim, feedForwardLength: ffnDim, vocabSize, headCount: nHeads, headCountKv: nKvHeads, keyLength: headDim } = cfg;
    const kv = nKvHeads * headDim;
    const q = nHeads * headDim;
    const shapes: Record<string, [number, number] | [number]> = {
      token_embd: [vocabSize, dim], output_norm: [dim], output: [vocabSize, dim],
      attn_norm: [dim], ffn_norm: [dim], attn_q: [q, dim], attn_k: [kv, dim], attn_v: [kv, dim],
      attn_output: [dim, q], ffn_gate: [ffnDim, dim], ffn_up: [ffnDim, dim], ffn_down: [dim, ffnDim],
    };
    const kind = name.replace(/^blk\.\d+\./, "").replace(/\.weight$/, "");
    const shape = shapes[kind];
    const n = shape.reduce((a, b) => a * b, 1);
    if (shape.length === 1) {
      const v = jitter(randomNormal(n, ++k, 0.2).map((x) => 1 + x));
      return { type: GGMLType.F32, shape, bytes: new Uint8Array(v.buffer) };
    }
    const type = typeFor(name);
    const v = jitter(randomNormal(n, ++k, std));
    return { type, shape, bytes: quantizeRows(type, v, shape[0], shape[1]) };
  };
  return buildWeights(cfg, get, "synthetic");
}

function jitterOneUlp(v: Float32Array, seed: number): Float32Array {
  const bits = new Uint32Array(v.slice().buffer);
  const coin = randomNormal(v.length, seed);
  // ±1 on the bit pattern is one ulp either way for every finite nonzero value.
  for (let i = 0; i < bits.length; i++) if (v[i] !== 0) bits[i] += coin[i] < 0 ? -1 : 1;
  return new Float32Array(bits.buffer);
}

export function randomLora(rows: number, cols: number, r: number, seed: number, scale: number): LoraDelta {
  return {
    a: weightFrom(GGMLType.F32, randomNormal(r * cols, seed, 0.3), r, cols),
    b: weightFrom(GGMLType.F32, randomNormal(rows * r, seed + 1, 0.3), rows, r),
    scale,
  };
}

function dense(w: WeightMatrix & { loras?: readonly LoraDelta[] }): Float64Array {
  const m = Float64Array.from(dequantizeRows(w.type, w.bytes, w.rows, w.cols));
  for (const d of w.loras ?? []) {
    const a = dequantizeRows(d.a.type, d.a.bytes, d.a.rows, d.a.cols);
    const b = dequantizeRows(d.b.type, d.b.bytes, d.b.rows, d.b.cols);
    const r = d.a.rows;
    for (let i = 0; i < w.rows; i++)
      for (let j = 0; j < w.cols; j++) {
        let s = 0;
        for (let t = 0; t < r; t++) s += b[i * r + t] * a[t * w.cols + j];
        m[i * w.cols + j] += d.scale * s;
      }
  }
  return m;
}

function matvec(m: Float64Array, rows: number, cols: number, x: Float64Array): Float64Array {
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += m[i * cols + j] * x[j];
    y[i] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]);
}

/** Logits (n, vocab) for every position of `tokens`, recomputing everything. */
export function naiveForward(w: LlamaWeights, tokens: readonly number[]): Float64Array[] {
  const cfg = w.config;
  const { embeddingLength: dim, headCount: nHeads, headCountKv: nKvHeads, keyLength: headDim, ropeDimensionCount: ropeDim } = cfg;
  const n = tokens.length;
  const rope = ropeParamsFor(cfg, n);
  const emb = dense(w.tokenEmbd);
  let xs = tokens.map((t) => emb.slice(t * dim, (t + 1) * dim));
  const rotate = (vec: Float64Array, heads: number, pos: number) => {
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < ropeDim / 2; i++) {
        const ang = pos * (rope.freqScale ?? 1) * Math.pow(rope.base, (-2 * i) / ropeDim);
        const a = vec[h * headDim + 2 * i];
        const b = vec[h * headDim + 2 * i + 1];
        vec[h * headDim + 2 * i] = a * Math.cos(ang) - b * Math.sin(ang);
        vec[h * headDim + 2 * i + 1] = a * Math.sin(ang) + b * Math.cos(ang);
      }
  };
  for (const L of w.layers) {
    const [wq, wk, wv, wo, wg, wu, wd] = [L.attnQ, L.attnK, L.attnV, L.attnOutput, L.ffnGate, L.ffnUp, L.ffnDown].map(dense);
    const hs = xs.map((x) => rmsNorm(x, L.attnNorm, cfg.layerNormRmsEpsilon));
    const qs = hs.map((h, t) => { const q = matvec(wq, nHeads * headDim, dim, h); rotate(q, nHeads, t); return q; });
    const ks = hs.map((h, t) => { const k = matvec(wk, nKvHeads * headDim, dim, h); rotate(k, nKvHeads, t); return k; });
    const vs = hs.map((h) => matvec(wv, nKvHeads * headDim, dim, h));
    xs = xs.map((x, t) => {
      const att = new Float64Array(nHeads * headDim);
      for (let h = 0; h < nHeads; h++) {
        const kh = Math.floor(h / (nHeads / nKvHeads));
        const sc: number[] = [];
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += qs[t][h * headDim + d] * ks[j][kh * headDim + d];
          sc.push(s / Math.sqrt(headDim));
        }
        const m = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++)
          for (let d = 0; d < headDim; d++) att[h * headDim + d] += (e[j] / z) * vs[j][kh * headDim + d];
      }
      const o = matvec(wo, dim, nHeads * headDim, att);
      const x1 = x.map((v, i) => v + o[i]);
      const h2 = rmsNorm(x1, L.ffnNorm, cfg.layerNormRmsEpsilon);
      const g = matvec(wg, cfg.feedForwardLength, dim, h2);
      const u = matvec(wu, cfg.feedForwardLength, dim, h2);
      const a = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]);
      const d = matvec(wd, dim, cfg.feedForwardLength, a);
      return x1.map((v, i) => v + d[i]);
    });
  }
  const out = dense(w.output);
  return xs.map((x) => matvec(out, cfg.vocabSize, dim, rmsNorm(x, w.outputNorm, cfg.layerNormRmsEpsilon)));
}
