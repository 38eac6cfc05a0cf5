// Embeddings as the seed's server defines them: mean over all tokens (BOS included) of the
// final-normed hidden states, L2-normalised.
import { expect } from "chai";
import fc from "fast-check";
import { embedText, loadModel, meanPoolNormalize, type LlamaModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

describe("embeddings: meanPoolNormalize", () => {
  it("mean of the rows, then divided by its length", () => {
    // rows (3, 0) and (1, 4): mean (2, 2), length 2√2
    const v = meanPoolNormalize(Float32Array.from([3, 0, 1, 4]), 2, 2);
    expect(v[0]).to.be.closeTo(Math.SQRT1_2, 1e-7);
    expect(v[1]).to.be.closeTo(Math.SQRT1_2, 1e-7);
    expect(Array.from(meanPoolNormalize(new Float32Array(4), 2, 2))).to.deep.equal([0, 0]); // max(norm, 1e-12)
  });
  it("property: unit norm, and the order of the rows does not matter", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (n, dim, seed) => {
        let s = seed;
        const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8) / 2 ** 24 - 0.5;
        const h = Float32Array.from({ length: n * dim }, rnd);
        const v = meanPoolNormalize(h, n, dim);
        const norm = Math.hypot(...v);
        if (norm > 0) expect(norm).to.be.closeTo(1, 1e-6);
        const rev = new Float32Array(n * dim);
        for (let t = 0; t < n; t++) rev.set(h.subarray(t * dim, (t + 1) * dim), (n - 1 - t) * dim);
        const w = meanPoolNormalize(rev, n, dim);
        for (let i = 0; i < dim; i++) expect(w[i]).to.be.closeTo(v[i], 1e-6);
      }),
      { numRuns: 100 },
    );
  });
});

describe("embeddings: embedText on the synthetic tiny model", function () {
  let m: LlamaModel;
  before(async () => {
    m = await loadModel(tinyModel("f16", 5), { backend: "ts", nCtx: 128 });
  });
  after(() => {
    m.dispose();
    cleanupTestDir();
  });

  it("identical texts, identical unit vectors of the model's width; other texts differ", async () => {
    const a = await embedText(m, "为什么要减少污染，保护环境？");
    const b = await embedText(m, "为什么要减少污染，保护环境？");
    const c = await embedText(m, "Once upon a time");
    expect(a.length).to.equal(m.config.embeddingLength);
    expect(Array.from(b)).to.deep.equal(Array.from(a));
    expect(Math.hypot(...a)).to.be.closeTo(1, 1e-6);
    expect(Array.from(c)).to.not.deep.equal(Array.from(a));
  });

  it("pools the final-normed hidden states of every token, BOS included", async () => {
    const text = "hello world";
    const ids = m.tokenize(text, { bos: true });
    expect(ids[0]).to.equal(1);
    const seq = m.createSequence();
    try {
      const hidden = await seq.evaluate(ids, { pos: 0, want: "hidden" });
      const dim = m.config.embeddingLength;
      const mean = new Float64Array(dim);
      for (let t = 0; t < ids.length; t++) for (let i = 0; i < dim; i++) mean[i] += hidden[t * dim + i] / ids.length;
      const len = Math.hypot(...mean);
      const e = await embedText(m, text);
      for (let i = 0; i < dim; i++) expect(e[i]).to.be.closeTo(mean[i] / len, 1e-6);
      // without BOS the vector is another one
      const noBos = new Float64Array(dim);
      for (let t = 1; t < ids.length; t++) for (let i = 0; i < dim; i++) noBos[i] += hidden[t * dim + i];
      expect(Math.abs(noBos[0] / Math.hypot(...noBos) - e[0])).to.be.greaterThan(1e-6);
    } finally {
      seq.dispose();
    }
  });

  it("a text longer than the context is a LlamatsError", async () => {
    let err: unknown;
    try {
      await embedText(m, "hello ".repeat(400));
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).to.match(/LlamatsError/);
    expect((err as Error).message).to.match(/context/);
  });
});
