// The Q4_0x4 repack (@llamats/kernels repack.ts) on a whole model: Q4_0 weights are repacked
// in place when first multiplied; logits must not depend on the thread count (bit for bit),
// stay within the kernels' bound of the standard-layout kernel (LLAMATS_WASM_REPACK=0), and
// greedy generation must pick the same ids.
import { expect } from "chai";
import { loadModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

const PROMPT = [1, 300, 400, 500, 17, 1700, 23];

async function run(threads: number, repack: boolean): Promise<{ logits: Float32Array[]; ids: number[] }> {
  const saved = process.env.LLAMATS_WASM_REPACK;
  if (!repack) process.env.LLAMATS_WASM_REPACK = "0";
  try {
    const m = await loadModel(tinyModel("q4_0"), { backend: "wasm", threads, nCtx: 64 });
    try {
      const s = m.createSequence();
      const logits = [Float32Array.from(await s.evaluate(PROMPT, { pos: 0 }))];
      // Then single tokens (the generation path), one at a time.
      for (let i = 0; i < 4; i++) logits.push(Float32Array.from(await s.evaluate([100 + 337 * i], { pos: PROMPT.length + i })));
      s.dispose();
      const ids: number[] = [];
      const g = m.createSequence();
      for await (const id of g.generateIds(PROMPT, { temperature: 0, repeatPenalty: 1, maxTokens: 8, eosId: -1 })) ids.push(id);
      g.dispose();
      return { logits, ids };
    } finally {
      m.dispose();
    }
  } finally {
    if (saved === undefined) delete process.env.LLAMATS_WASM_REPACK;
    else process.env.LLAMATS_WASM_REPACK = saved;
  }
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("engine/Q4_0x4 repacked weights on the wasm backend", function () {
  before(function () {
    if (process.env.LLAMATS_WASM_RELAXED === "0") this.skip(); // the repack needs relaxed SIMD
  });

  it("1 and 2 threads give bit-identical logits (prompt and single tokens) and ids", async () => {
    const one = await run(1, true);
    const two = await run(2, true);
    one.logits.forEach((l, i) => expect(bits(two.logits[i]!).equals(bits(l)), `step ${i}`).to.equal(true));
    expect(two.ids).to.deep.equal(one.ids);
  });

  it("within 1e-3 (relative to the largest logit) of the standard-layout kernel; same greedy ids", async () => {
    const x4 = await run(1, true);
    const std = await run(1, false);
    let maxRel = 0;
    x4.logits.forEach((l, i) => {
      const ref = std.logits[i]!;
      const mag = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      for (let j = 0; j < l.length; j++) maxRel = Math.max(maxRel, Math.abs(l[j]! - ref[j]!) / (1 + mag));
    });
    expect(maxRel).to.be.at.most(1e-3);
    expect(maxRel, "the repacked kernel sums in another order: some logit must differ").to.be.greaterThan(0);
    expect(x4.ids).to.deep.equal(std.ids);
  });

  after(cleanupTestDir);
});
