// The KV cache type through the engine: loadModel's cacheType, createSequence's override,
// memory per type, and bad values as typed errors.
import { expect } from "chai";
import { LlamatsError } from "@llamats/tensor";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

describe("engine/KV cache type", function () {
  this.timeout(60000);
  const models: LlamaModel[] = [];
  const load = async (cacheType?: string) => {
    const m = await loadModel(tinyModel("q8_0"), { backend: "ts", nCtx: 32, cacheType });
    models.push(m);
    return m;
  };
  after(() => {
    models.forEach((m) => m.dispose());
    cleanupTestDir();
  });

  it("cacheType sets the default sequence's cache: f16 half the bytes of f32, q8_0 34/128", async () => {
    const [f32, f16, q8] = [await load("f32"), await load("f16"), await load("q8_0")];
    expect([f32.cacheType, f16.cacheType, q8.cacheType]).to.deep.equal(["f32", "f16", "q8_0"]);
    for (const m of [f32, f16, q8]) m.forward([1, 2, 3], { pos: 0 });
    expect(f32.kvBytes).to.equal(2 * f32.config.blockCount * 32 * f32.config.headCountKv * f32.config.keyLength * 4);
    expect(f16.kvBytes).to.equal(f32.kvBytes / 2);
    expect(q8.kvBytes).to.equal((f32.kvBytes * 34) / 128);
  });

  it("createSequence({ cacheType }) overrides the model's type and computes what a model loaded with that type does", async () => {
    const f32 = await load("f32");
    const q8 = await load("q8_0");
    const seq = f32.createSequence({ cacheType: "q8_0" });
    expect(seq.cache.type).to.equal("q8_0");
    const ids = [1, 17, 300, 5, 42];
    const got = await seq.evaluate(ids);
    const want = q8.forward(ids, { pos: 0 });
    expect(Array.from(got)).to.deep.equal(Array.from(want));
    const plain = f32.forward(ids, { pos: 0 });
    expect(Array.from(plain)).to.not.deep.equal(Array.from(want)); // q8_0 really rounds
    seq.dispose();
  });

  it("an unknown cache type is a LlamatsError naming the accepted ones, from loadModel and createSequence", async () => {
    await loadModel(tinyModel("q8_0"), { backend: "ts", cacheType: "q4_0" }).then(() => expect.fail("loaded"), (e) => {
      expect(e).to.be.instanceOf(LlamatsError);
      expect(String(e)).to.match(/unknown KV cache type "q4_0" \(want f32, f16, q8_0\)/);
    });
    const m = await load();
    expect(() => m.createSequence({ cacheType: "bf16" })).to.throw(LlamatsError, /unknown KV cache type/);
  });
});
