// Several sequences over one model: generations running at the same time share forward steps
// (the scheduler batches their decode rows), and each one's ids equal what it gives alone.
import { expect } from "chai";
import fc from "fast-check";
import { LlamatsError } from "@llamats/tensor";
import { loadModel, EvalAbortedError, type LlamaModel, type Sequence, type StepInfo } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

async function ids(seq: Sequence, prompt: number[], maxTokens: number, opts: { signal?: AbortSignal; temperature?: number; seed?: number } = {}): Promise<number[]> {
  const out: number[] = [];
  for await (const id of seq.generateIds(prompt, { temperature: 0, repeatPenalty: 1.1, maxTokens, eosId: -1, ...opts })) out.push(id);
  return out;
}

describe("engine/sequences and the batch scheduler", function () {
  let m: LlamaModel;
  let steps: StepInfo[] = [];
  before(async () => {
    m = await loadModel(tinyModel("q8_0"), { backend: "ts", nCtx: 64, maxBatch: 8 });
    m.scheduler.onStep = (s) => steps.push(s);
  });
  after(() => {
    m?.dispose();
    cleanupTestDir();
  });
  beforeEach(() => {
    steps = [];
  });

  const prompts = [[1, 300, 400], [1, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500], [1, 42], [1, 7, 8, 9, 10]];

  it("concurrent generations batch their steps and each equals its generation alone (and the default sequence's)", async () => {
    const alone: number[][] = [];
    for (const p of prompts) {
      const s = m.createSequence();
      alone.push(await ids(s, p, 6));
      s.dispose();
    }
    // The default sequence (model.generateIds) gives the same ids: batching changed nothing for one sequence.
    const viaModel: number[] = [];
    m.reset();
    for await (const id of m.generateIds(prompts[0], { temperature: 0, repeatPenalty: 1.1, maxTokens: 6, eosId: -1 })) viaModel.push(id);
    expect(viaModel).to.deep.equal(alone[0]);
    steps = [];
    const seqs = prompts.map(() => m.createSequence());
    const together = await Promise.all(seqs.map((s, i) => ids(s, prompts[i], 6)));
    expect(together).to.deep.equal(alone);
    // Decode steps of the four ran as one forward; the 12-token prompt was split (maxBatch 8).
    expect(steps.some((s) => s.rows.length === 4 && s.rows.every((r) => r === 1))).to.equal(true);
    expect(Math.max(...steps.map((s) => s.rows.reduce((a, b) => a + b, 0)))).to.be.at.most(8);
    seqs.forEach((s) => s.dispose());
    expect(m.sequenceCount).to.equal(0);
  });

  it("a long prompt is prefilled in chunks between the decode steps of a running stream", async () => {
    const a = m.createSequence();
    const b = m.createSequence();
    const long = [1, ...Array.from({ length: 40 }, (_, i) => 100 + i)];
    const aloneB = await ids(b, long, 3);
    b.reset();
    steps = [];
    const ra = ids(a, [1, 5, 6], 12);
    while (steps.length < 3) await new Promise((r) => setImmediate(r)); // a is decoding when b arrives
    const rb = ids(b, long, 3);
    const [, gotB] = await Promise.all([ra, rb]);
    expect(gotB).to.deep.equal(aloneB);
    // While b's 41-token prompt was evaluated, a's decode row rode along in every step.
    const mixed = steps.filter((s) => s.rows.length === 2 && s.rows[0] === 1 && s.rows[1] > 1);
    expect(mixed.length).to.be.at.least(4);
    a.dispose();
    b.dispose();
  });

  it("property: any mix of sequences (lengths, sampling seeds, start times) gives each its solo ids", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        prompt: fc.array(fc.integer({ min: 3, max: 1700 }), { minLength: 1, maxLength: 20 }),
        n: fc.integer({ min: 1, max: 4 }),
        seed: fc.nat(1000),
        delay: fc.integer({ min: 0, max: 3 }),
      }), { minLength: 1, maxLength: 4 }),
      async (specs) => {
        const solo: number[][] = [];
        for (const s of specs) {
          const q = m.createSequence();
          solo.push(await ids(q, [1, ...s.prompt], s.n, { temperature: 0.8, seed: s.seed }));
          q.dispose();
        }
        const seqs = specs.map(() => m.createSequence());
        const got = await Promise.all(specs.map(async (s, i) => {
          for (let k = 0; k < s.delay; k++) await new Promise((r) => setImmediate(r));
          return ids(seqs[i], [1, ...s.prompt], s.n, { temperature: 0.8, seed: s.seed });
        }));
        seqs.forEach((s) => s.dispose());
        expect(got).to.deep.equal(solo);
      }), { numRuns: 8 });
  });

  it("abort stops a sequence before its next step; the others go on; a dropped prompt rejects with EvalAbortedError", async () => {
    const a = m.createSequence();
    const b = m.createSequence();
    const ac = new AbortController();
    const pa = ids(a, [1, 2, 3], 30, { signal: ac.signal });
    const pb = ids(b, [1, 4, 5], 12);
    setTimeout(() => ac.abort(), 3);
    const [ga, gb] = await Promise.all([pa, pb]);
    expect(a.lastStats!.stopReason).to.equal("aborted");
    expect(ga.length).to.be.lessThan(30);
    expect(gb.length).to.equal(12);
    const ac2 = new AbortController();
    const p = a.evaluate(Array.from({ length: 40 }, (_, i) => i + 1), { pos: 0, signal: ac2.signal });
    ac2.abort();
    let err: unknown;
    await p.catch((e) => (err = e));
    expect(err).to.be.instanceOf(EvalAbortedError);
    expect(m.scheduler.pending).to.equal(0);
    a.dispose();
    b.dispose();
  });

  it("evaluate 'all' gives every position's logits, ending with the last-token logits; generate then reuses the prefix", async () => {
    const s = m.createSequence();
    const all = await s.evaluate([1, 300, 400], { pos: 0, want: "all" });
    const V = m.config.vocabSize;
    expect(all.length).to.equal(3 * V);
    const last = await s.evaluate([1, 300, 400], { pos: 0 });
    expect(Array.from(all.subarray(2 * V))).to.deep.equal(Array.from(last));
    await ids(s, [1, 300, 400], 1);
    expect(s.lastStats!.promptTokensEvaluated).to.equal(1);
    s.dispose();
  });

  it("embed returns (nTokens, dim) final hidden states and leaves the cache empty; errors are typed", async () => {
    const s = m.createSequence({ nCtx: 16 });
    const h = await s.embed([1, 2, 3]);
    expect(h.length).to.equal(3 * m.config.embeddingLength);
    expect(s.nPast).to.equal(0);
    const again = await s.embed([1, 2, 3]);
    expect(Array.from(again)).to.deep.equal(Array.from(h));
    await s.embed(Array.from({ length: 17 }, () => 5)).then(() => expect.fail("no error"), (e) => expect(e).to.be.instanceOf(LlamatsError));
    await s.evaluate([m.config.vocabSize]).then(() => expect.fail("no error"), (e) => expect(String(e)).to.match(/outside the vocabulary/));
    const g = s.generateIds([1, 2], { maxTokens: 50 });
    await g.next();
    expect(() => s.reset()).to.throw(LlamatsError, /generating/);
    await s.generateIds([1], { maxTokens: 1 }).next().then(() => expect.fail("no error"), (e) => expect(String(e)).to.match(/already generating/));
    await g.return(undefined);
    const before = m.kvBytes;
    s.dispose();
    expect(m.kvBytes).to.equal(before - s.cache.byteLength);
    await s.evaluate([1]).then(() => expect.fail("no error"), (e) => expect(String(e)).to.match(/disposed/));
  });
});
