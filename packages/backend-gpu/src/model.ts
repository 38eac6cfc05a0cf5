// The LLaMA forward pass on the GPU: the same steps as @llamats/model's forward(), with the
// weights uploaded once and kept resident, the KV cache on the device, and every activation
// a device array. Only the token embeddings go up per call (a few rows decoded on the host)
// and only the logits come back. Every gpu.js call in webgpu mode is asynchronous, so this
// forward is async; it is a plain function of (resident weights, device state, tokens, pos).

import { type LlamaConfig, LlamatsError, ggmlRowBytes } from "@llamats/tensor";
import { type BatchItem, type BatchResult, type KVCache, type LlamaWeights, type Linear, ropeParamsFor } from "@llamats/model";
import { type DeviceMatrix, attention, axpy, freeMatrix, freeRopeTables, kvWrite, matmul, rmsNorm, rope, slice, swiglu, uploadMatrix, uploadRopeTables } from "./ops.js";
import { decodeRowF32 } from "./pack.js";
import type { DeviceArray, GpuRuntime } from "./runtime.js";

interface DeviceLinear {
  readonly w: DeviceMatrix;
  readonly loras: readonly { readonly a: DeviceMatrix; readonly b: DeviceMatrix; readonly scale: number }[];
}

interface DeviceLayer {
  readonly attnNorm: DeviceArray;
  readonly attnQ: DeviceLinear;
  readonly attnK: DeviceLinear;
  readonly attnV: DeviceLinear;
  readonly attnOutput: DeviceLinear;
  readonly ffnNorm: DeviceArray;
  readonly ffnGate: DeviceLinear;
  readonly ffnUp: DeviceLinear;
  readonly ffnDown: DeviceLinear;
}

export interface GpuModelOptions {
  /** KV cache length (default: the training context). Attention cost grows with it. */
  readonly nCtx?: number;
  /** Tokens per prefill pass (default 32). */
  readonly maxBatch?: number;
}

export interface GpuForwardOptions {
  /** "last" (default): (vocab) logits of the last token; "all": (nTokens, vocab). */
  readonly logits?: "last" | "all";
}

/** One sequence's KV cache on the device: per layer (nCtx, kvDim) keys and values. */
interface DeviceKv {
  readonly nCtx: number;
  readonly k: DeviceArray[];
  readonly v: DeviceArray[];
  filled: number;
}

export class GpuModel {
  readonly config: LlamaConfig;
  readonly nCtx: number;
  readonly maxBatch: number;
  /** The sequence forward() works on; forwardBatch() keeps one per host KVCache. */
  private main: DeviceKv | undefined;
  private readonly caches = new Map<KVCache, DeviceKv>();
  private disposed = false;

  private constructor(readonly rt: GpuRuntime, private readonly host: LlamaWeights, private readonly layers: DeviceLayer[],
    private readonly outputNorm: DeviceArray, private readonly output: DeviceLinear, opts: GpuModelOptions) {
    this.config = host.config;
    this.nCtx = opts.nCtx ?? host.config.contextLength;
    this.maxBatch = Math.max(1, Math.min(this.nCtx, opts.maxBatch ?? 32));
  }

  /** Upload weights (packed, resident) and allocate the device KV cache. */
  static async create(rt: GpuRuntime, weights: LlamaWeights, opts: GpuModelOptions = {}): Promise<GpuModel> {
    const linear = async (l: Linear): Promise<DeviceLinear> => ({
      w: await uploadMatrix(rt, l),
      loras: await Promise.all((l.loras ?? []).map(async (d) => ({ a: await uploadMatrix(rt, d.a), b: await uploadMatrix(rt, d.b), scale: d.scale }))),
    });
    const layers: DeviceLayer[] = [];
    for (const L of weights.layers) {
      layers.push({
        attnNorm: await rt.upload(L.attnNorm),
        attnQ: await linear(L.attnQ),
        attnK: await linear(L.attnK),
        attnV: await linear(L.attnV),
        attnOutput: await linear(L.attnOutput),
        ffnNorm: await rt.upload(L.ffnNorm),
        ffnGate: await linear(L.ffnGate),
        ffnUp: await linear(L.ffnUp),
        ffnDown: await linear(L.ffnDown),
      });
    }
    const m = new GpuModel(rt, weights, layers, await rt.upload(weights.outputNorm), await linear(weights.output), opts);
    m.main = await m.newKv(m.nCtx);
    return m;
  }

  /** Positions held by the KV cache of forward()'s sequence. */
  get nPast(): number {
    return this.main!.filled;
  }

  /** Forget forward()'s sequence. */
  reset(): void {
    this.main!.filled = 0;
  }

  private async newKv(nCtx: number): Promise<DeviceKv> {
    const kvDim = this.config.headCountKv * this.config.keyLength;
    if (nCtx * kvDim * 4 > this.rt.maxBindingBytes) {
      throw new LlamatsError(`gpu: a KV cache layer of ${nCtx} x ${kvDim} floats exceeds the storage binding limit; lower nCtx`);
    }
    const kv: DeviceKv = { nCtx, k: [], v: [], filled: 0 };
    for (let l = 0; l < this.layers.length; l++) {
      kv.k.push(await this.rt.upload(new Float32Array(nCtx * kvDim)));
      kv.v.push(await this.rt.upload(new Float32Array(nCtx * kvDim)));
    }
    return kv;
  }

  private freeKv(kv: DeviceKv): void {
    for (const a of [...kv.k, ...kv.v]) this.rt.free(a);
  }

  /**
   * The batched forward of @llamats/model (forwardBatch), with each host KVCache mirrored by
   * a cache on the device: the host cache keeps the bookkeeping (length, room), the device
   * one the keys and values. Items run one after another (one weight read per item).
   */
  async forwardBatch(items: readonly BatchItem[]): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    for (const it of items) {
      let kv = this.caches.get(it.cache);
      if (!kv) {
        kv = await this.newKv(it.cache.nCtx);
        this.caches.set(it.cache, kv);
      }
      it.cache.checkRoom(it.pos, it.tokens.length);
      kv.filled = Math.min(kv.filled, it.cache.length, it.pos);
      const mode = it.logits ?? "last";
      const out = await this.run(kv, it.tokens, it.pos, mode, it.hidden === true, it.ropeLength);
      it.cache.commit(it.pos + it.tokens.length);
      results.push(out);
    }
    return results;
  }

  /** Free the device copy of a host KV cache (its sequence went away). */
  releaseCache(cache: KVCache): void {
    const kv = this.caches.get(cache);
    if (!kv) return;
    this.freeKv(kv);
    this.caches.delete(cache);
  }

  /**
   * Run tokens at positions pos .. pos + n - 1 (pos <= nPast; a smaller pos overwrites the
   * tail) and return their logits, read back from the device.
   */
  async forward(tokens: ArrayLike<number>, pos: number, opts: GpuForwardOptions = {}): Promise<Float32Array> {
    return (await this.run(this.main!, tokens, pos, opts.logits ?? "last", false)).logits;
  }

  private async run(kv: DeviceKv, tokens: ArrayLike<number>, pos: number, mode: "last" | "all" | "none", wantHidden: boolean,
    ropeLength?: number): Promise<BatchResult> {
    if (this.disposed) throw new LlamatsError("gpu: this model has been disposed");
    const cfg = this.config;
    const dim = cfg.embeddingLength;
    const n = tokens.length;
    if (n === 0) throw new LlamatsError("forward: no tokens");
    if (!Number.isInteger(pos) || pos < 0 || pos > kv.filled) {
      throw new LlamatsError(`KV cache: position ${pos} is invalid, the cache holds ${kv.filled} positions (no gaps allowed)`);
    }
    if (pos + n > kv.nCtx) throw new LlamatsError(`KV cache full: ${pos + n} positions requested, the context holds ${kv.nCtx}`);
    for (let i = 0; i < n; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) {
        throw new LlamatsError(`forward: token id ${id} at index ${i} is outside the vocabulary (0 .. ${cfg.vocabSize - 1})`);
      }
    }
    const all = mode === "all";
    const out = new Float32Array(all ? n * cfg.vocabSize : mode === "last" ? cfg.vocabSize : 0);
    const hidden = wantHidden ? new Float32Array(n * dim) : undefined;
    // The RoPE base is chosen once for the whole call (NTK "auto" depends on the final length).
    const ropeParams = ropeParamsFor(cfg, ropeLength ?? pos + n);
    for (let start = 0; start < n; start += this.maxBatch) {
      const nb = Math.min(this.maxBatch, n - start);
      const ids = Array.from({ length: nb }, (_, i) => tokens[start + i]);
      const x = await this.chunk(kv, ids, pos + start, ropeParams);
      kv.filled = pos + start + nb;
      const isLast = start + nb === n;
      if (hidden) hidden.set((await this.rt.read(x)).subarray(0, nb * dim), start * dim);
      if (all) {
        const logits = await this.linear(this.output, x, nb);
        out.set(await this.rt.read(logits), start * cfg.vocabSize);
        this.rt.free(logits);
      } else if (isLast && mode === "last") {
        const lastRow = await slice(this.rt, x, (nb - 1) * cfg.embeddingLength, cfg.embeddingLength);
        const logits = await this.linear(this.output, lastRow, 1);
        out.set((await this.rt.read(logits)).subarray(0, cfg.vocabSize));
        this.rt.free(lastRow);
        this.rt.free(logits);
      }
      this.rt.free(x);
    }
    return { logits: out, hidden };
  }

  /** One pass over ids at positions p0 ..; returns the final-normed hidden states (nb, dim). */
  private async chunk(kv: DeviceKv, ids: number[], p0: number, ropeParams: ReturnType<typeof ropeParamsFor>): Promise<DeviceArray> {
    const rt = this.rt;
    const { embeddingLength: dim, headCount: nHeads, headCountKv: nKvHeads, keyLength: headDim, feedForwardLength: ffnDim, layerNormRmsEpsilon: eps } = this.config;
    const nb = ids.length;
    const kvDim = nKvHeads * headDim;
    const positions = Int32Array.from({ length: nb }, (_, i) => p0 + i);
    const tables = await uploadRopeTables(rt, positions, ropeParams); // shared by every layer's q and k
    let x = await rt.upload(this.embed(ids)); // (nb, dim)
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      let xb = await rmsNorm(rt, x, L.attnNorm, nb, dim, eps);
      const q0 = await this.linear(L.attnQ, xb, nb);
      const k0 = await this.linear(L.attnK, xb, nb);
      const v = await this.linear(L.attnV, xb, nb);
      rt.free(xb);
      const q = await rope(rt, q0, nHeads, tables, ropeParams);
      const k = await rope(rt, k0, nKvHeads, tables, ropeParams);
      rt.free(q0);
      rt.free(k0);
      const kNew = await kvWrite(rt, kv.k[l], k, kv.nCtx, kvDim, p0, nb);
      const vNew = await kvWrite(rt, kv.v[l], v, kv.nCtx, kvDim, p0, nb);
      rt.free(kv.k[l]);
      rt.free(kv.v[l]);
      rt.free(k);
      rt.free(v);
      kv.k[l] = kNew;
      kv.v[l] = vNew;
      const att = await attention(rt, q, kNew, vNew, { nTokens: nb, pos0: p0, nHeads, nKvHeads, headDim, nCtx: kv.nCtx, scale: 1 / Math.sqrt(headDim) });
      rt.free(q);
      const o = await this.linear(L.attnOutput, att, nb);
      rt.free(att);
      x = await this.residual(x, o, nb * dim);
      // Feed-forward block: down(silu(gate x) * up x).
      xb = await rmsNorm(rt, x, L.ffnNorm, nb, dim, eps);
      const g = await this.linear(L.ffnGate, xb, nb);
      const u = await this.linear(L.ffnUp, xb, nb);
      rt.free(xb);
      const h = await swiglu(rt, g, u, nb * ffnDim);
      rt.free(g);
      rt.free(u);
      const d = await this.linear(L.ffnDown, h, nb);
      rt.free(h);
      x = await this.residual(x, d, nb * dim);
    }
    freeRopeTables(rt, tables);
    const xn = await rmsNorm(rt, x, this.outputNorm, nb, dim, eps);
    rt.free(x);
    return xn;
  }

  /** x + y (frees both inputs). */
  private async residual(x: DeviceArray, y: DeviceArray, n: number): Promise<DeviceArray> {
    const r = await axpy(this.rt, x, y, 1, n);
    this.rt.free(x);
    this.rt.free(y);
    return r;
  }

  /** W x plus each runtime LoRA delta scale · B (A x). */
  private async linear(l: DeviceLinear, x: DeviceArray, n: number): Promise<DeviceArray> {
    let out = await matmul(this.rt, l.w, x, n);
    for (const d of l.loras) {
      const mid = await matmul(this.rt, d.a, x, n);
      const delta = await matmul(this.rt, d.b, mid, n);
      const next = await axpy(this.rt, out, delta, d.scale, n * l.w.rows);
      for (const a of [mid, delta, out]) this.rt.free(a);
      out = next;
    }
    return out;
  }

  /** Token embedding rows (nb, dim), decoded on the host from the (read-only) table. */
  private embed(ids: number[]): Float32Array {
    const t = this.host.tokenEmbd;
    const out = new Float32Array(ids.length * t.cols);
    const rowBytes = ggmlRowBytes(t.type, t.cols);
    ids.forEach((id, i) => decodeRowF32(t, id * rowBytes, out, i * t.cols));
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const rt = this.rt;
    const freeLinear = (l: DeviceLinear) => {
      freeMatrix(rt, l.w);
      for (const d of l.loras) {
        freeMatrix(rt, d.a);
        freeMatrix(rt, d.b);
      }
    };
    for (const L of this.layers) {
      rt.free(L.attnNorm);
      rt.free(L.ffnNorm);
      for (const l of [L.attnQ, L.attnK, L.attnV, L.attnOutput, L.ffnGate, L.ffnUp, L.ffnDown]) freeLinear(l);
    }
    rt.free(this.outputNorm);
    freeLinear(this.output);
    if (this.main) this.freeKv(this.main);
    for (const kv of this.caches.values()) this.freeKv(kv);
    this.caches.clear();
  }
}
