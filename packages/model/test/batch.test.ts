// Batched forward over several sequences: each sequence's logits (and hidden states) equal what
// forward() gives that sequence alone, bit for bit on the reference backend, whatever the
// batch composition (how many sequences, how much each has cached, how many new tokens each
// brings, how the passes split them).
import { expect } from "chai";
import fc from "fast-check";
import { type BatchItem, KVCache, RunState, forward, forwardBatch } from "@llamats/model";
import { quantKernels } from "@llamats/quant";
import { GGMLType, LlamatsError, ReferenceBackend, type LlamaConfig, withRopeScaling } from "@llamats/tensor";
import { synthConfig, synthWeights } from "./helpers/synthetic.js";

const backend = new ReferenceBackend({ kernels: quantKernels });
const spec = { nKvHeads: 2, group: 2, headDim: 4, nLayers: 2, ffnDim: 10, vocabSize: 12 };

/** forward() alone: the prefix, then the new tokens; logits as asked and the final hidden states. */
function alone(cfg: LlamaConfig, w: ReturnType<typeof synthWeights>, prefix: number[], tokens: number[], mode: "last" | "all") {
  const s = new RunState(backend, cfg, { nCtx: 16, maxBatch: 3 });
  if (prefix.length) forward(w, s, prefix, 0);
  const logits = Float32Array.from(forward(w, s, tokens, prefix.length, { logits: mode, capture: { hidden: true } }));
  return { logits, hidden: s.captured.hiddenFinal! };
}

describe("model/forwardBatch", () => {
  it("two sequences of different lengths in one batch give each one's single-sequence logits", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 7);
    const state = new RunState(backend, cfg);
    const a = state.newCache();
    const b = state.newCache();
    // Sequence A has 5 tokens cached and decodes one; B prefills 3 tokens from scratch.
    forwardBatch(w, state, [{ cache: a, tokens: [1, 2, 3, 4, 5], pos: 0, logits: "none" }]);
    const [ra, rb] = forwardBatch(w, state, [
      { cache: a, tokens: [6], pos: 5 },
      { cache: b, tokens: [9, 8, 7], pos: 0, logits: "all" },
    ]);
    expect(a.length).to.equal(6);
    expect(b.length).to.equal(3);
    expect(Array.from(ra.logits)).to.deep.equal(Array.from(alone(cfg, w, [1, 2, 3, 4, 5], [6], "last").logits));
    expect(Array.from(rb.logits)).to.deep.equal(Array.from(alone(cfg, w, [], [9, 8, 7], "all").logits));
    // And the default-cache forward() is untouched by the other caches.
    expect(state.cache.length).to.equal(0);
  });

  it("property: random batch compositions equal per-sequence forward(), logits and hidden states (f32 and Q8_0 weights)", () => {
    const seqArb = fc.record({
      prefix: fc.array(fc.integer({ min: 0, max: spec.vocabSize - 1 }), { maxLength: 6 }),
      tokens: fc.array(fc.integer({ min: 0, max: spec.vocabSize - 1 }), { minLength: 1, maxLength: 7 }),
      mode: fc.constantFrom<"last" | "all">("last", "all"),
    });
    const scalingArb = fc.constantFrom<LlamaConfig["ropeScaling"]>({ type: "none" }, { type: "ntk", alpha: "auto" }, { type: "linear", factor: 2 });
    fc.assert(fc.property(fc.array(seqArb, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 9 }), scalingArb,
      fc.boolean(), fc.nat(100), (seqs, maxBatch, scaling, q8, seed) => {
        // contextLength 8 makes NTK "auto" kick in for the longer sequences (a base per sequence).
        const cfg = withRopeScaling(synthConfig({ ...spec, headDim: 8, ffnDim: 32 }, { contextLength: 8 }), scaling);
        const w = synthWeights(cfg, seed, (n) => (q8 && n !== "token_embd" ? GGMLType.Q8_0 : GGMLType.F32));
        const state = new RunState(backend, cfg, { nCtx: 16, maxBatch });
        const items: BatchItem[] = seqs.map((s) => {
          const cache = state.newCache();
          if (s.prefix.length) forwardBatch(w, state, [{ cache, tokens: s.prefix, pos: 0, logits: "none" }]);
          return { cache, tokens: s.tokens, pos: s.prefix.length, logits: s.mode, hidden: true };
        });
        const results = forwardBatch(w, state, items);
        seqs.forEach((s, i) => {
          const want = alone(cfg, w, s.prefix, s.tokens, s.mode);
          expect(Array.from(results[i].logits)).to.deep.equal(Array.from(want.logits));
          expect(Array.from(results[i].hidden!)).to.deep.equal(Array.from(want.hidden));
          expect(items[i].cache.length).to.equal(s.prefix.length + s.tokens.length);
        });
      }), { numRuns: 60 });
  });

  it("a prompt fed in chunks with ropeLength rotates as one call would (NTK auto)", () => {
    const cfg = withRopeScaling(synthConfig({ ...spec, headDim: 8 }, { contextLength: 4 }), { type: "ntk", alpha: "auto" });
    const w = synthWeights(cfg, 3);
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const want = alone(cfg, w, [], tokens, "last").logits;
    const state = new RunState(backend, cfg, { nCtx: 16 });
    const c = state.newCache();
    forwardBatch(w, state, [{ cache: c, tokens: tokens.slice(0, 4), pos: 0, ropeLength: 9, logits: "none" }]);
    const [r] = forwardBatch(w, state, [{ cache: c, tokens: tokens.slice(4), pos: 4, ropeLength: 9 }]);
    expect(Array.from(r.logits)).to.deep.equal(Array.from(want));
  });

  it("refuses a cache used twice, a foreign cache shape, a gap or a bad id, before writing anything", () => {
    const cfg = synthConfig(spec);
    const w = synthWeights(cfg, 1);
    const state = new RunState(backend, cfg, { nCtx: 8 });
    const a = state.newCache();
    const b = state.newCache();
    expect(() => forwardBatch(w, state, [{ cache: a, tokens: [1], pos: 0 }, { cache: a, tokens: [2], pos: 1 }])).to.throw(LlamatsError, /already uses/);
    expect(() => forwardBatch(w, state, [{ cache: new KVCache(backend, 1, 8, 8), tokens: [1], pos: 0 }])).to.throw(LlamatsError, /KV cache/);
    expect(() => forwardBatch(w, state, [{ cache: a, tokens: [1], pos: 0 }, { cache: b, tokens: [2], pos: 3 }])).to.throw(LlamatsError, /no gaps/);
    expect(() => forwardBatch(w, state, [{ cache: a, tokens: [1], pos: 0 }, { cache: b, tokens: [99], pos: 0 }])).to.throw(LlamatsError, /batch item 1/);
    expect(a.length).to.equal(0);
    expect(forwardBatch(w, state, [])).to.deep.equal([]);
  });
});
