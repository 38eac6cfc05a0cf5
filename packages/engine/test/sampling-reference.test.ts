// Sampling held to an independent reference: fixtures/sampling/goldens.json was computed by
// fixtures/sampling/make_goldens.py with PyTorch (Debian python3-torch, float32), following
// Hugging Face's logits processors and llama.cpp's penalties sampler. Nothing in it comes
// from llamats. Penalties, temperature and top-k are compared bit for bit. Top-p: the rule
// (cumsum <= 1 - p, keep >= 1) applied to PyTorch's own float32 cumulative sums must remove
// exactly what the reference removed; our cumulative sums must be within 3e-7 of PyTorch's;
// and our kept set must equal the reference's, except (a) among tokens tied at the boundary,
// where PyTorch's unstable sort picks which ones go (the number kept from the tie must
// match), and (b) a knife-edge case whose float32 sum at the edge differs from PyTorch's in
// the last bit (its vectorised expf is not correctly rounded), where the edge token may flip.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  Sampler, applyFrequencyPresencePenalty, topPCumulative, topPRemovedCount, applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP, generateIdStream, penaltyWindow,
  type LogitsRunner, type SamplingOptions,
} from "@llamats/engine";
import { repoRoot } from "@llamats/testkit";

type Vec = (number | null)[];
interface ProcessorCase {
  name: string; note: string; logits: Vec; history: number[];
  options: Required<Pick<SamplingOptions, "temperature" | "topK" | "topP" | "repeatPenalty">> & SamplingOptions;
  afterPenalties: Vec; afterTemperature: Vec; afterTopK: Vec; afterTopP: Vec; keptCount: number;
  topPCumsum: number[] | null;
}
interface LoopCase { name: string; options: SamplingOptions; prompt: number[]; generated: number[] }
interface Goldens { processors: ProcessorCase[]; loops: { vocab: number; stepLogits: number[][]; cases: LoopCase[] } }

const goldens = JSON.parse(readFileSync(join(repoRoot(), "fixtures", "sampling", "goldens.json"), "utf8")) as Goldens;
const vec = (v: Vec) => Float32Array.from(v, (x) => (x === null ? -Infinity : x));

/** Bit-exact equality, naming the first differing index. */
function expectSame(got: Float32Array, want: Vec, what: string): void {
  expect(got.length, what).to.equal(want.length);
  for (let i = 0; i < got.length; i++) {
    const w = want[i] === null ? -Infinity : want[i];
    if (!Object.is(got[i], w)) expect.fail(`${what}: index ${i}: got ${got[i]}, reference ${w}`);
  }
}

/** Top-p's kept set equals the reference's, tokens tied at the boundary counted instead. */
function expectSameKept(got: Float32Array, input: Vec, want: Vec, what: string): void {
  const kept = (v: ArrayLike<number | null>, i: number) => v[i] !== null && v[i] !== -Infinity;
  let boundary = Infinity;
  for (let i = 0; i < want.length; i++) if (kept(want, i)) boundary = Math.min(boundary, want[i]!);
  let tiedOurs = 0;
  let tiedRef = 0;
  for (let i = 0; i < want.length; i++) {
    if (kept(got, i)) expect(got[i], `${what}: kept value ${i}`).to.equal(input[i]);
    if (input[i] === boundary) {
      tiedOurs += kept(got, i) ? 1 : 0;
      tiedRef += kept(want, i) ? 1 : 0;
    } else if (kept(got, i) !== kept(want, i)) expect.fail(`${what}: token ${i} (score ${input[i]}) ${kept(want, i) ? "kept" : "removed"} by the reference`);
  }
  expect(tiedOurs, `${what}: tokens kept among those tied at ${boundary}`).to.equal(tiedRef);
}

describe("sampling vs the PyTorch reference (fixtures/sampling)", () => {
  it("covers the boundaries it claims to", () => {
    const names = goldens.processors.map((c) => c.name);
    for (const n of ["topk-ties", "topp-exact-0.75", "topp-exact-0.5", "topp-edge-0-on", "rep-signs", "freq-presence-window"]) expect(names).to.include(n);
    // The exact-boundary cases tell `cumsum <= 1-p` from `<`: at p = 0.75 four tokens of 0.25
    // give cumsum 0.25 == 1 - p, and the reference removes that token.
    expect(goldens.processors.find((c) => c.name === "topp-exact-0.75")!.keptCount).to.equal(3);
    expect(goldens.processors.find((c) => c.name === "topp-exact-0.76")!.keptCount).to.equal(4);
  });

  for (const c of goldens.processors) {
    it(`${c.name}: every step equals the reference${c.note ? ` (${c.note})` : ""}`, () => {
      const o = c.options;
      const s = vec(c.logits);
      const window = penaltyWindow(c.history, o.penaltyLastN ?? -1);
      applyRepetitionPenalty(s, window, o.repeatPenalty);
      applyFrequencyPresencePenalty(s, window, o.frequencyPenalty ?? 0, o.presencePenalty ?? 0);
      expectSame(s, c.afterPenalties, "penalties");
      applyTemperature(s, o.temperature);
      expectSame(s, c.afterTemperature, "temperature");
      applyTopK(s, o.topK);
      expectSame(s, c.afterTopK, "top-k");
      const beforeTopP = Float32Array.from(s);
      applyTopP(s, o.topP);
      if (c.topPCumsum) {
        // PyTorch's sums cover the removed (-inf, probability 0) tokens too: they sort first.
        const nInf = c.afterTopK.filter((v) => v === null).length;
        const torchCum = c.topPCumsum.slice(nInf);
        const refRemoved = c.afterTopK.length - nInf - c.keptCount;
        expect(topPRemovedCount(torchCum, o.topP), "the rule on PyTorch's sums").to.equal(refRemoved);
        const ours = topPCumulative(beforeTopP).cumulative;
        for (let j = 0; j < ours.length; j++) expect(Math.abs(ours[j] - torchCum[j]), `cumsum ${j}`).to.be.at.most(3e-7);
        const oursRemoved = topPRemovedCount(ours, o.topP);
        if (oursRemoved !== refRemoved) {
          const edge = Math.min(oursRemoved, refRemoved);
          expect(Math.abs(oursRemoved - refRemoved), "only the edge token may flip").to.equal(1);
          expect(ours[edge], "a flip needs a last-bit difference at the edge").to.not.equal(torchCum[edge]);
          return;
        }
      }
      expectSameKept(s, c.afterTopK, c.afterTopP, "top-p");
      // The Sampler runs the same chain in the same order.
      const viaSampler = new Sampler({ ...o, seed: 1 }).process(vec(c.logits), c.history);
      expect(Array.from(viaSampler)).to.deep.equal(Array.from(s));
      let n = 0;
      for (const v of s) if (v !== -Infinity) n++;
      expect(n, "kept tokens").to.equal(c.keptCount);
    });
  }
});

describe("generation loop vs the reference loop (scripted logits, penalties on)", () => {
  // The "model" returns the reference's logits for step i whatever the ids are, so the ids
  // depend only on the sampler and on which ids the loop hands it (prompt and generated).
  function scripted(): LogitsRunner {
    let step = 0;
    return {
      vocabSize: goldens.loops.vocab,
      nCtx: 256,
      evalLast: () => Float32Array.from(goldens.loops.stepLogits[step++]),
    };
  }
  for (const c of goldens.loops.cases) {
    it(`${c.name}: the same ${c.generated.length} ids`, async () => {
      const got: number[] = [];
      for await (const id of generateIdStream(scripted(), { cached: [] }, c.prompt, { ...c.options, seed: 3, maxTokens: c.generated.length }, () => {})) got.push(id);
      expect(got).to.deep.equal(c.generated);
    });
  }
  it("the penalties change the ids (the cases above are not all the same sequence)", () => {
    const byName = new Map(goldens.loops.cases.map((c) => [c.name, c.generated.join(",")]));
    expect(byName.get("repeat-1.3/greedy")).to.not.equal(byName.get("none/greedy"));
    expect(byName.get("frequency-0.4/greedy")).to.not.equal(byName.get("none/greedy"));
    expect(byName.get("presence-0.9/greedy")).to.not.equal(byName.get("none/greedy"));
    // The prompt's favourite (5) is penalised from the first step only through the prompt ids.
    expect(goldens.loops.cases.find((c) => c.name === "repeat-1.1/greedy")!.generated[0]).to.not.equal(5);
  });
});
