// loadModel(path, { backend: "gpu" }): the gpu.js backend behind the engine's scheduler.
// Greedy generation, logits and concurrent sequences on the device against the CPU reference
// backend, on the synthetic tiny model in Q8_0 and Q4_0 (weights dequantised inside the
// kernels). Runs on WebGPU (Dawn; on llvmpipe where there is no GPU) and skips with one line
// where no adapter exists, except under CI=true, where .ci/run installs Mesa and it must run.
import { expect } from "chai";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { isCI, maxAbsDiff } from "@llamats/testkit";
import { cleanupTestDir, tinyModel } from "./helpers.js";

async function collect(it: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const id of it) out.push(id);
  return out;
}


describe("engine on the gpu backend", function () {
  let haveGpu = true;
  before(async function () {
    try {
      const m = await loadModel(tinyModel("q8_0"), { backend: "gpu", nCtx: 32 });
      await m.close();
    } catch (err) {
      if (isCI()) throw err;
      haveGpu = false;
      this.test!.parent!.title += ` — skipped: ${(err as Error).message}`;
      this.skip();
    }
  });
  after(() => cleanupTestDir());

  for (const type of ["q8_0", "q4_0"]) {
    it(`${type}: greedy ids equal the reference backend's, logits within ${type === "q8_0" ? 0.05 : 0.1}`, async function () {
      if (!haveGpu) this.skip();
      const path = tinyModel(type);
      const gpu = await loadModel(path, { backend: "gpu", nCtx: 48, maxBatch: 8 });
      const cpu = await loadModel(path, { backend: "ts", nCtx: 48, maxBatch: 8 });
      try {
        const prompt = gpu.tokenize("你好，世界", { bos: true });
        const a = await gpu.forwardAsync(prompt, { pos: 0, logits: "all" });
        const b = cpu.forward(prompt, { pos: 0, logits: "all" });
        // The reference's quantised products round activations to Q8 blocks (as ggml does);
        // the GPU kernels multiply f32 activations by the dequantised weights.
        const d = maxAbsDiff(a, b);
        this.test!.title += ` (max |Δ| ${d.toExponential(2)})`;
        expect(d).to.be.below(type === "q8_0" ? 0.05 : 0.1);
        const opts = { maxTokens: 12, temperature: 0 };
        const ids = await collect(gpu.generateIds(prompt, opts));
        const ref = await collect(cpu.generateIds(prompt, opts));
        expect(ids).to.deep.equal(ref);
        expect(() => gpu.forward(prompt)).to.throw(/forwardAsync/);
      } finally {
        await gpu.close(); // the device is released before the next test loads another model
        cpu.dispose();
      }
    });
  }

  it("two sequences generating at once each give their single-sequence ids", async function () {
    if (!haveGpu) this.skip();
    const m: LlamaModel = await loadModel(tinyModel("q8_0"), { backend: "gpu", nCtx: 48 });
    try {
      const p1 = m.tokenize("从前", { bos: true });
      const p2 = m.tokenize("Once upon a time there", { bos: true });
      const opts = { maxTokens: 8, temperature: 0 };
      const alone1 = await collect(m.generateIds(p1, opts));
      m.reset();
      const alone2 = await collect(m.generateIds(p2, opts));
      const s1 = m.createSequence();
      const s2 = m.createSequence();
      const [both1, both2] = await Promise.all([collect(s1.generateIds(p1, opts)), collect(s2.generateIds(p2, opts))]);
      expect(both1).to.deep.equal(alone1);
      expect(both2).to.deep.equal(alone2);
      s1.dispose();
      s2.dispose();
    } finally {
      await m.close();
    }
  });
});
