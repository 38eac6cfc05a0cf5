// The generation loop on real models with the penalties on: the penalty sees the prompt and
// the generated ids (stories260K, greedy), and a seed gives the same ids across runs, loads
// and thread counts (synthetic tiny model, sampling with every step on).
import { expect } from "chai";
import { loadModel, type GenerateOptions, type LlamaModel } from "@llamats/engine";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { cleanupTestDir, tinyModel } from "./helpers.js";

async function ids(m: LlamaModel, prompt: number[], opts: GenerateOptions): Promise<number[]> {
  m.reset();
  const out: number[] = [];
  for await (const id of m.generateIds(prompt, { eosId: undefined, ...opts })) out.push(id);
  return out;
}

describeConformance("generation with penalties on stories260K (llama2.c)", ["stories260K/stories260K.bin"], () => {
  let m: LlamaModel;
  before(async () => {
    m = await loadModel(fixturePath("stories260K/stories260K.bin"), { format: "llama2c", backend: "ts", nCtx: 128 });
  });
  after(() => m.dispose());
  const greedy = { temperature: 0, maxTokens: 40 };

  it("--repeat-penalty 1.3 changes the greedy ids, and no id of the penalised run repeats as often", async () => {
    const plain = await ids(m, [1], { ...greedy, repeatPenalty: 1 });
    const penalised = await ids(m, [1], { ...greedy, repeatPenalty: 1.3 });
    expect(penalised).to.not.deep.equal(plain);
    // run.c's greedy run repeats id 431 thirteen times in a row; a penalty of 1.3 over the
    // whole sequence must break such runs.
    const longestRun = (xs: number[]) => xs.reduce((acc, x, i) => ((acc.cur = i > 0 && xs[i - 1] === x ? acc.cur + 1 : 1), (acc.max = Math.max(acc.max, acc.cur)), acc), { cur: 0, max: 0 }).max;
    expect(longestRun(plain)).to.be.greaterThan(5);
    expect(longestRun(penalised)).to.be.lessThan(longestRun(plain));
  });

  it("the penalty covers the prompt ids: a prompt holding the favourite changes the first id", async () => {
    // Greedy from BOS starts with 461; with 461 in the prompt and a strong penalty the first
    // generated id is another one. Without the prompt in the history it would stay 461.
    const [first] = await ids(m, [1], { ...greedy, repeatPenalty: 1, maxTokens: 1 });
    const withPrompt = await ids(m, [1, first], { ...greedy, repeatPenalty: 1, maxTokens: 1 });
    const penalised = await ids(m, [1, first], { ...greedy, repeatPenalty: 3, maxTokens: 1 });
    expect(withPrompt[0]).to.equal(first); // the model itself would repeat it
    expect(penalised[0]).to.not.equal(first);
  });

  it("frequency and presence penalties change the greedy ids too", async () => {
    const plain = await ids(m, [1], { ...greedy, repeatPenalty: 1 });
    expect(await ids(m, [1], { ...greedy, repeatPenalty: 1, frequencyPenalty: 1 })).to.not.deep.equal(plain);
    expect(await ids(m, [1], { ...greedy, repeatPenalty: 1, presencePenalty: 1.5 })).to.not.deep.equal(plain);
  });
});

describe("seeded sampling is reproducible (synthetic tiny model)", function () {
  after(cleanupTestDir);
  const opts: GenerateOptions = { temperature: 0.9, topK: 20, topP: 0.95, repeatPenalty: 1.2, frequencyPenalty: 0.2, presencePenalty: 0.1, maxTokens: 24 };

  async function runs(load: { backend: string; threads?: number }, seeds: number[]): Promise<number[][]> {
    const m = await loadModel(tinyModel("q8_0", 3), { ...load, nCtx: 64 });
    try {
      const out: number[][] = [];
      for (const seed of seeds) out.push(await ids(m, [1, 15, 200, 31], { ...opts, seed }));
      return out;
    } finally {
      m.dispose();
    }
  }

  it("same seed, same ids: across runs on one model and fresh loads; another seed differs", async () => {
    const [a, again, other] = await runs({ backend: "ts" }, [42, 42, 43]);
    const [fresh] = await runs({ backend: "ts" }, [42]);
    expect(a.length).to.equal(24);
    expect(again).to.deep.equal(a);
    expect(fresh).to.deep.equal(a);
    expect(other).to.not.deep.equal(a);
  });

  it("same seed, same ids with 1 and 2 worker threads (wasm backend)", async () => {
    const [one] = await runs({ backend: "wasm", threads: 1 }, [42]);
    const [two] = await runs({ backend: "wasm", threads: 2 }, [42]);
    expect(one.length).to.equal(24);
    expect(two).to.deep.equal(one);
  });
});
