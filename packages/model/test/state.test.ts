import { expect } from "chai";
import { autoNtkAlpha, type LlamaWeights, KVCache, KVCacheFullError, RunState, WeightError, buildWeights, forward, type RawTensor } from "@llamats/model";
import { GGMLType, LlamatsError, ReferenceBackend, ntkScaling, withRopeScaling } from "@llamats/tensor";
import { synthConfig, synthWeights } from "./helpers/synthetic.js";

const backend = new ReferenceBackend();
const spec = { nKvHeads: 2, group: 2, headDim: 4, nLayers: 2, ffnDim: 10, vocabSize: 12 };

describe("model/KV cache", () => {
  it("has shape (nLayers, nCtx, kvDim), truncates, resets and refuses gaps", () => {
    const c = new KVCache(backend, 2, 8, 6);
    expect(c.k.length).to.equal(2 * 8 * 6);
    expect(c.layerK(1).length).to.equal(48);
    c.commit(5);
    c.truncate(3);
    expect(c.length).to.equal(3);
    expect(() => c.truncate(4)).to.throw(LlamatsError);
    expect(() => c.checkRoom(4, 1)).to.throw(LlamatsError, /no gaps/);
    expect(() => c.checkRoom(3, 6)).to.throw(KVCacheFullError, /8/);
    c.reset();
    expect(c.length).to.equal(0);
  });

  it("an impossible context is a LlamatsError, not a crash", () => {
    expect(() => new KVCache(backend, 32, 2 ** 40, 4096)).to.throw(LlamatsError, /GiB/);
    expect(() => new KVCache(backend, 2, 0, 8)).to.throw(LlamatsError, /bad shape/);
    expect(() => new KVCache(backend, 2, 1.5, 8)).to.throw(LlamatsError, /bad shape/);
  });

  it("forward past nCtx is a KVCacheFullError and leaves the cache as it was", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 1);
    const state = new RunState(backend, cfg, { nCtx: 4 });
    forward(w, state, [1, 2, 3], 0);
    expect(() => forward(w, state, [4, 5], 3)).to.throw(KVCacheFullError);
    expect(state.cache.length).to.equal(3);
    forward(w, state, [4], 3);
    expect(state.cache.length).to.equal(4);
  });

  it("truncate then re-run reproduces the same logits (chat edit)", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 2);
    const state = new RunState(backend, cfg, { nCtx: 16 });
    const a = forward(w, state, [1, 2, 3, 4], 0).slice();
    forward(w, state, [7, 8], 4);
    state.cache.truncate(3);
    const b = forward(w, state, [4], 3);
    expect(Array.from(b)).to.deep.equal(Array.from(a));
  });

  it("rejects out-of-vocabulary ids and empty calls", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 3);
    const state = new RunState(backend, cfg);
    expect(() => forward(w, state, [12], 0)).to.throw(LlamatsError, /outside the vocabulary/);
    expect(() => forward(w, state, [], 0)).to.throw(LlamatsError);
    const other = new RunState(backend, synthConfig({ ...spec, ffnDim: 11 }));
    expect(() => forward(w, other, [1], 0)).to.throw(LlamatsError, /feedForwardLength 11/);
  });
});

describe("model/forward capture", () => {
  it("captures layer outputs, the final hidden state and causal attention weights, whatever the chunking", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 4);
    const tokens = [1, 5, 3, 7, 2];
    const run = (maxBatch: number) => {
      const s = new RunState(backend, cfg, { maxBatch });
      forward(w, s, [9, 9], 0);
      forward(w, s, tokens, 2, { capture: { hidden: true, attention: true } });
      return s.captured;
    };
    const a = run(64);
    const b = run(2);
    expect(a.layerOut!.length).to.equal(cfg.blockCount * tokens.length * cfg.embeddingLength);
    expect(a.hiddenFinal!.length).to.equal(tokens.length * cfg.embeddingLength);
    const kvLen = 2 + tokens.length;
    for (const probs of a.attention!) {
      expect(probs.length).to.equal(tokens.length * cfg.headCount * kvLen);
      for (let t = 0; t < tokens.length; t++)
        for (let h = 0; h < cfg.headCount; h++) {
          const row = probs.subarray((t * cfg.headCount + h) * kvLen, (t * cfg.headCount + h + 1) * kvLen);
          expect(row.reduce((x, y) => x + y, 0)).to.be.closeTo(1, 1e-6);
          for (let j = 2 + t + 1; j < kvLen; j++) expect(row[j]).to.equal(0);
        }
    }
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, i) => expect(v).to.be.closeTo(y[i], 1e-5));
    close(a.layerOut!, b.layerOut!);
    close(a.hiddenFinal!, b.hiddenFinal!);
    a.attention!.forEach((p, l) => close(p, b.attention![l]));
  });
});

describe("model/weights", () => {
  const cfg = synthConfig(spec);
  const goodW = synthWeights(cfg, 5);
  const getter = (over: Record<string, RawTensor | undefined>) => (name: string) => (name in over ? over[name] : fromGood(name));
  function fromGood(name: string, good: LlamaWeights = goodW): RawTensor | undefined {
    if (name === "token_embd.weight") return { type: good.tokenEmbd.type, shape: [good.tokenEmbd.rows, good.tokenEmbd.cols], bytes: good.tokenEmbd.bytes };
    const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
    const key = { attn_norm: "attnNorm", attn_q: "attnQ", attn_k: "attnK", attn_v: "attnV", attn_output: "attnOutput", ffn_norm: "ffnNorm", ffn_gate: "ffnGate", ffn_down: "ffnDown", ffn_up: "ffnUp" } as const;
    if (m) {
      const v = good.layers[+m[1]][key[m[2] as keyof typeof key]];
      return v instanceof Float32Array ? { type: GGMLType.F32, shape: [v.length], bytes: new Uint8Array(v.buffer) } : { type: v.type, shape: [v.rows, v.cols], bytes: v.bytes };
    }
    if (name === "output_norm.weight") return { type: GGMLType.F32, shape: [good.outputNorm.length], bytes: new Uint8Array(good.outputNorm.buffer) };
    return undefined; // tied classifier
  }

  it("builds from canonical names; a missing output.weight ties the classifier", () => {
    const w = buildWeights(cfg, getter({}), "m");
    expect(w.output).to.equal(w.tokenEmbd);
    expect(w.layers.length).to.equal(2);
  });

  it("names the tensor on a missing tensor, a wrong shape, a wrong byte count or an unsupported type", () => {
    expect(() => buildWeights(cfg, getter({ "blk.1.attn_k.weight": undefined }), "m.gguf")).to.throw(WeightError, /m.gguf: tensor blk.1.attn_k.weight is missing/);
    expect(() => buildWeights(cfg, getter({ "blk.0.attn_q.weight": { type: GGMLType.F32, shape: [16, 15], bytes: new Uint8Array(16 * 15 * 4) } }), "m")).to.throw(WeightError, /attn_q.weight has shape \(16, 15\), expected \(16, 16\)/);
    expect(() => buildWeights(cfg, getter({ "blk.0.attn_q.weight": { type: GGMLType.F32, shape: [16, 16], bytes: new Uint8Array(10) } }), "m")).to.throw(WeightError, /holds 10 bytes/);
    expect(() => buildWeights(cfg, getter({ "blk.0.attn_q.weight": { type: GGMLType.Q8_0, shape: [16, 16], bytes: new Uint8Array(0) } }), "m")).to.throw(WeightError, /block size 32/);
    expect(() => buildWeights(cfg, getter({ "blk.0.ffn_norm.weight": { type: GGMLType.F32, shape: [15], bytes: new Uint8Array(60) } }), "m")).to.throw(WeightError, /ffn_norm/);
    const bigCfg = synthConfig({ ...spec, headDim: 8, group: 2, nKvHeads: 2 }); // dim 32
    const q = synthWeights(bigCfg, 6, (n) => (n.endsWith("attn_q.weight") ? GGMLType.Q8_0 : GGMLType.F32));
    expect(q.layers[0].attnQ.type).to.equal(GGMLType.Q8_0);
    const get2 = (name: string) => fromGood(name, q);
    expect(() => buildWeights(bigCfg, get2, "m", backend)).to.throw(WeightError, /q8_0, which the reference backend cannot multiply/);
  });
});

describe("model/NTK auto with a KV cache (the seed's default, STORE_KV_BEFORE_ROPE=False)", () => {
  it("cached keys keep the base of their call; a new step uses the base of the new length", () => {
    // Training context 1024; lengths past ~1955 give alpha > 1.
    const cfg = synthConfig({ nKvHeads: 1, group: 2, headDim: 4, nLayers: 1, ffnDim: 4, vocabSize: 6 }, { contextLength: 1024 });
    const w = synthWeights(cfg, 11);
    const tokens = Array.from({ length: 2000 }, (_, i) => (i * 7 + 1) % 6);
    const a2000 = autoNtkAlpha(2000, 1024)!;
    const a2001 = autoNtkAlpha(2001, 1024)!;
    expect(a2000).to.be.above(1);
    // Auto: prefill 2000 (base of 2000), then one step (base of 2001).
    const auto = { ...w, config: withRopeScaling(cfg, ntkScaling("auto")) };
    const sAuto = new RunState(backend, auto.config, { nCtx: 2001, maxBatch: 512 });
    forward(auto, sAuto, tokens, 0, { logits: "none" });
    const stepped = forward(auto, sAuto, [3], 2000).slice();
    // The same by hand with two fixed alphas.
    const s = new RunState(backend, cfg, { nCtx: 2001, maxBatch: 512 });
    forward({ ...w, config: withRopeScaling(cfg, ntkScaling(a2000)) }, s, tokens, 0, { logits: "none" });
    const manual = forward({ ...w, config: withRopeScaling(cfg, ntkScaling(a2001)) }, s, [3], 2000);
    expect(Array.from(stepped)).to.deep.equal(Array.from(manual));
    // And it differs (slightly) from one prefill of all 2001 tokens, where every key uses the base of 2001.
    const whole = forward(auto, new RunState(backend, auto.config, { nCtx: 2001, maxBatch: 512 }), [...tokens, 3], 0);
    expect(Array.from(whole)).to.not.deep.equal(Array.from(stepped));
    whole.forEach((v, i) => expect(v).to.be.closeTo(stepped[i], 0.05));
  });
});

