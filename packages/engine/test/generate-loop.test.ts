import { expect } from "chai";
import fc from "fast-check";
import { StopStringMatcher, generateText, reusablePrefix, type LogitsRunner, type TextCodec, type GenerationStats } from "@llamats/engine";

// A fake 8-token vocabulary: 0 <unk>, 1 <s>, 2 </s>, 3.. letters. The "model" prefers
// token (last + 1) wrapping over 3..7, and EOS after 'g' when eosAfterG is set.
const LETTERS = ["a", "b", "c", "d", "e"];
function fakeCodec(): TextCodec {
  return {
    bosId: 1,
    eosId: 2,
    encode: (text, { bos }) => [...(bos ? [1] : []), ...Array.from(text).map((c) => 3 + LETTERS.indexOf(c))],
    decode: (ids) => ids.filter((i) => i >= 3).map((i) => LETTERS[i - 3]).join(""),
    streamDecoder: () => ({ push: (id: number) => (id >= 3 ? LETTERS[id - 3] : ""), flush: () => "" }),
  };
}
function fakeRunner(opts: { eosAfter?: number } = {}) {
  const calls: { tokens: number[]; pos: number }[] = [];
  const runner: LogitsRunner = {
    vocabSize: 8,
    nCtx: 64,
    evalLast(tokens, pos) {
      calls.push({ tokens: [...tokens], pos });
      const last = tokens[tokens.length - 1];
      const logits = new Float32Array(8).fill(-5);
      if (opts.eosAfter !== undefined && last === opts.eosAfter) logits[2] = 5;
      else logits[last >= 3 ? 3 + ((last - 3 + 1) % 5) : 3] = 5;
      return logits;
    },
  };
  return { runner, calls };
}

async function collect(it: AsyncIterable<string>): Promise<string> {
  let s = "";
  for await (const p of it) s += p;
  return s;
}

describe("generation loop (fake model)", () => {
  it("greedy: deterministic, stops at max tokens, batched prefill then single steps", async () => {
    const { runner, calls } = fakeRunner();
    let stats: GenerationStats | undefined;
    const out = await collect(generateText(fakeCodec(), runner, { cached: [] }, "ab", { temperature: 0, repeatPenalty: 1, maxTokens: 6 }, (s) => (stats = s)));
    expect(out).to.equal("cdeabc");
    expect(stats!.stopReason).to.equal("max-tokens");
    expect(stats!.generatedTokens).to.equal(6);
    expect(stats!.promptTokens).to.equal(3);
    expect(calls[0]).to.deep.equal({ tokens: [1, 3, 4], pos: 0 });
    expect(calls.slice(1).map((c) => c.pos)).to.deep.equal([3, 4, 5, 6, 7]);
    expect(calls.length).to.equal(6); // the last sampled token is not evaluated
  });
  it("stops at EOS without emitting it", async () => {
    const { runner } = fakeRunner({ eosAfter: 6 });
    let stats: GenerationStats | undefined;
    const out = await collect(generateText(fakeCodec(), runner, { cached: [] }, "a", { temperature: 0, repeatPenalty: 1 }, (s) => (stats = s)));
    expect(out).to.equal("bcd");
    expect(stats!.stopReason).to.equal("eos");
  });
  it("stops before a stop string", async () => {
    const { runner } = fakeRunner();
    let stats: GenerationStats | undefined;
    const out = await collect(generateText(fakeCodec(), runner, { cached: [] }, "a", { temperature: 0, repeatPenalty: 1, stop: ["dea"] }, (s) => (stats = s)));
    expect(out).to.equal("bc");
    expect(stats!.stopReason).to.equal("stop-string");
  });
  it("AbortSignal cancels between tokens", async () => {
    const { runner } = fakeRunner();
    const ac = new AbortController();
    let n = 0;
    let stats: GenerationStats | undefined;
    for await (const _ of generateText(fakeCodec(), runner, { cached: [] }, "a", { temperature: 0, maxTokens: 1000, signal: ac.signal }, (s) => (stats = s))) {
      if (++n === 3) ac.abort();
    }
    expect(n).to.equal(3);
    expect(stats!.stopReason).to.equal("aborted");
  });
  it("a consumer that stops iterating early leaves stopReason aborted, stats reported", async () => {
    const { runner } = fakeRunner();
    let stats: GenerationStats | undefined;
    for await (const _ of generateText(fakeCodec(), runner, { cached: [] }, "a", { temperature: 0, maxTokens: 50 }, (s) => (stats = s))) break;
    expect(stats!.stopReason).to.equal("aborted");
    expect(stats!.generatedTokens).to.equal(1);
  });

  it("reuses the KV cache for a common prompt prefix", async () => {
    const { runner, calls } = fakeRunner();
    const session = { cached: [] as number[] };
    await collect(generateText(fakeCodec(), runner, session, "abc", { temperature: 0, maxTokens: 2 }, () => {}));
    expect(session.cached).to.deep.equal([1, 3, 4, 5, 6]);
    calls.length = 0;
    await collect(generateText(fakeCodec(), runner, session, "abcdd", { temperature: 0, maxTokens: 1 }, () => {}));
    expect(calls[0]).to.deep.equal({ tokens: [6], pos: 5 }); // "abcdd" = [1,3,4,5,6,6]: five reused
    expect(reusablePrefix([1, 2, 3], [1, 2, 3])).to.equal(2);
  });
});

describe("StopStringMatcher", () => {
  it("holds back possible prefixes and never emits a stop string", () => {
    const m = new StopStringMatcher(["###", "\n\nUser"]);
    expect(m.push("hello #")).to.equal("hello ");
    expect(m.push("# world")).to.equal("## world");
    expect(m.push("\n")).to.equal("");
    expect(m.push("\nUs")).to.equal("");
    expect(m.push("er: x")).to.equal("");
    expect(m.isStopped).to.equal(true);
  });
  it("property: emitted text == text before the first stop string, for any split", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", "#", "x") , maxLength: 40 }), fc.array(fc.nat(40)), (text, cuts) => {
        const stops = ["##", "ab#"];
        const m = new StopStringMatcher(stops);
        const pts = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
        let out = "";
        let prev = 0;
        for (const p of [...pts, text.length]) {
          out += m.push(text.slice(prev, p));
          prev = p;
        }
        out += m.flush();
        const firsts = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
        const want = firsts.length ? text.slice(0, Math.min(...firsts)) : text;
        expect(out).to.equal(want);
      }),
      { numRuns: 200 },
    );
  });
});
