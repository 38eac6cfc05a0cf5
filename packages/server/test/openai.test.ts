// The official `openai` client (6.x) against the server on an ephemeral port: completions,
// chat, streaming, embeddings (the client asks for base64 and decodes it), n, logprobs, echo,
// stop strings, seeds, usage, auth, and abort through the client's AbortController.
import { expect } from "chai";
import OpenAI from "openai";
import { alpacaPrompt, meanPoolNormalize, type GenerateOptions, type LlamaModel } from "@llamats/engine";
import { buildChatPrompt } from "@llamats/server";
import { cleanup, serve, tinyModel, type TestServer } from "./helpers.js";

describe("server: the official openai client", function () {
  let model: LlamaModel;
  let srv: TestServer;
  let client: OpenAI;
  before(async () => {
    model = await tinyModel();
    srv = await serve(model, { apiKey: "test-key", parallel: 2 });
    client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "test-key", maxRetries: 0 });
  });
  after(async () => {
    await srv?.stop();
    model?.dispose();
    cleanup();
  });

  /** What the engine gives alone for this prompt at temperature 0 (no penalty). */
  async function engineText(prompt: string, maxTokens: number, extra: GenerateOptions = {}): Promise<{ text: string; ids: number[] }> {
    const seq = model.createSequence();
    let text = "";
    for await (const p of seq.generate(prompt, { temperature: 0, repeatPenalty: 1, maxTokens, ...extra })) text += p;
    const ids = seq.lastStats!.ids.slice(seq.lastStats!.promptTokens);
    seq.dispose();
    return { text, ids };
  }

  it("lists the model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).to.deep.equal(["tiny-f16"]);
    const one = await client.models.retrieve("tiny-f16");
    expect(one.owned_by).to.equal("llamats");
  });

  it("completions: the text the engine generates, usage, finish_reason length", async () => {
    const want = await engineText("Once upon a time", 12);
    const r = await client.completions.create({ model: "tiny-f16", prompt: "Once upon a time", max_tokens: 12, temperature: 0 });
    expect(r.object).to.equal("text_completion");
    expect(r.choices).to.have.length(1);
    expect(r.choices[0].text).to.equal(want.text);
    expect(r.choices[0].finish_reason).to.equal("length");
    const promptTokens = model.tokenize("Once upon a time", { bos: true }).length;
    expect(r.usage).to.deep.equal({ prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 });
  });

  it("completions: frequency / presence penalties and logit_bias change the text as the engine's sampler does", async () => {
    const plain = await engineText("Once upon a time", 12);
    // Negative penalties pull the prompt's tokens back in: the greedy text changes.
    const want = await engineText("Once upon a time", 12, { frequencyPenalty: -2, presencePenalty: -1.5, repeatPenalty: 1.3 });
    expect(want.text).to.not.equal(plain.text);
    const r = await client.completions.create({
      model: "tiny-f16", prompt: "Once upon a time", max_tokens: 12, temperature: 0, frequency_penalty: -2, presence_penalty: -1.5,
      // @ts-expect-error the seed's extension
      repetition_penalty: 1.3,
    });
    expect(r.choices[0].text).to.equal(want.text);
    // A strong negative bias on the first greedy token moves the choice away from it.
    const banned = plain.ids[0];
    const b = await client.completions.create({ model: "tiny-f16", prompt: "Once upon a time", max_tokens: 1, temperature: 0, logit_bias: { [banned]: -100 } });
    expect(model.tokenize(b.choices[0].text, { bos: false })[0]).to.not.equal(banned);
  });

  it("completions: stop strings end the text before them (across token boundaries), finish_reason stop", async () => {
    const full = (await engineText("Once upon a time", 16)).text;
    // A stop string spanning the boundary of the 3rd and 4th visible characters.
    const chars = Array.from(full);
    const stop = chars.slice(3, 6).join("");
    const r = await client.completions.create({ model: "tiny-f16", prompt: "Once upon a time", max_tokens: 16, temperature: 0, stop: ["never-there", stop] });
    expect(r.choices[0].text).to.equal(full.slice(0, full.indexOf(stop)));
    expect(r.choices[0].finish_reason).to.equal("stop");
  });

  it("completions: streaming chunks concatenate to the non-streamed text; include_usage sends a last usage chunk", async () => {
    const plain = await client.completions.create({ model: "tiny-f16", prompt: "Hello", max_tokens: 10, temperature: 0 });
    const stream = await client.completions.create({ model: "tiny-f16", prompt: "Hello", max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: unknown;
    for await (const c of stream) {
      if (c.choices.length) {
        text += c.choices[0].text;
        finish = c.choices[0].finish_reason ?? finish;
      }
      if (c.usage) usage = c.usage;
    }
    expect(text).to.equal(plain.choices[0].text);
    expect(finish).to.equal("length");
    expect(usage).to.deep.equal(plain.usage);
  });

  it("completions: n choices, seeded sampling repeats, logprobs and echo", async () => {
    const a = await client.completions.create({ model: "tiny-f16", prompt: "abc", max_tokens: 6, temperature: 1, seed: 42, n: 3 });
    const b = await client.completions.create({ model: "tiny-f16", prompt: "abc", max_tokens: 6, temperature: 1, seed: 42, n: 3 });
    expect(a.choices.map((c) => c.index)).to.deep.equal([0, 1, 2]);
    expect(a.choices.map((c) => c.text)).to.deep.equal(b.choices.map((c) => c.text));
    expect(new Set(a.choices.map((c) => c.text)).size).to.be.greaterThan(1); // seeds seed+i differ
    expect(a.usage!.completion_tokens).to.equal(18);

    const lp = await client.completions.create({ model: "tiny-f16", prompt: "abc", max_tokens: 5, temperature: 0, logprobs: 3, echo: true });
    const c = lp.choices[0];
    expect(c.text.startsWith("abc")).to.equal(true);
    const l = c.logprobs!;
    const promptIds = model.tokenize("abc", { bos: true });
    expect(l.tokens!.length).to.equal(promptIds.length - 1 + 5); // prompt tokens after BOS, then the 5 new
    expect(l.top_logprobs!.length).to.equal(l.tokens!.length);
    // At temperature 0 each generated token is the most likely one: its logprob is the top entry.
    for (let i = promptIds.length - 1; i < l.tokens!.length; i++) {
      const top = Object.values(l.top_logprobs![i]!);
      expect(top.length).to.equal(3);
      expect(l.token_logprobs![i]).to.equal(Math.max(...top));
      expect(l.token_logprobs![i]).to.be.below(0);
    }
    // The prompt's logprobs are the model's: the first generated token's alternatives sum below 1 in probability.
    expect(l.token_logprobs!.slice(0, promptIds.length - 1).every((v) => Number.isFinite(v) && v! <= 0)).to.equal(true);
  });

  it("chat: the seed's Alpaca prompt, `message` alias, system text; reply equals the engine's (leading space trimmed)", async () => {
    const messages = [{ role: "system" as const, content: "You are terse." }, { role: "user" as const, content: "你好" }];
    const prompt = buildChatPrompt([{ role: "system", content: "You are terse." }, { role: "user", content: "你好" }]);
    expect(prompt).to.equal("You are terse.\n\n### Instruction:\n你好\n\n### Response: ");
    const want = (await engineText(prompt, 10)).text.trimStart();
    const r = await client.chat.completions.create({ model: "tiny-f16", messages, max_tokens: 10, temperature: 0 });
    expect(r.object).to.equal("chat.completion");
    expect(r.choices[0].message.role).to.equal("assistant");
    expect(r.choices[0].message.content).to.equal(want);
    expect(r.usage!.prompt_tokens).to.equal(model.tokenize(prompt, { bos: true }).length);
    // The seed's `message` field (raw HTTP: the client would not send it).
    const raw = await fetch(`${srv.url}/v1/chat/completions`, {
      method: "POST", headers: { "content-type": "application/json", authorization: "Bearer test-key" },
      body: JSON.stringify({ messages: [{ role: "system", message: "You are terse." }, { role: "user", message: "你好" }], max_tokens: 10, temperature: 0 }),
    }).then((x) => x.json() as Promise<{ choices: { message: { content: string } }[] }>);
    expect(raw.choices[0].message.content).to.equal(want);
  });

  it("chat: streaming deltas (role first) concatenate to the reply; logprobs with top_logprobs", async () => {
    const msgs = [{ role: "user" as const, content: "Tell me a story" }];
    const plain = await client.chat.completions.create({ model: "tiny-f16", messages: msgs, max_completion_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 });
    const lp = plain.choices[0].logprobs!.content!;
    expect(lp.length).to.equal(8);
    for (const t of lp) {
      expect(t.top_logprobs).to.have.length(2);
      expect(t.logprob).to.equal(t.top_logprobs[0].logprob);
    }
    const stream = await client.chat.completions.create({ model: "tiny-f16", messages: msgs, max_completion_tokens: 8, temperature: 0, stream: true });
    let text = "";
    let first = true;
    for await (const c of stream) {
      if (first) expect(c.choices[0].delta.role).to.equal("assistant");
      first = false;
      text += c.choices[0]?.delta.content ?? "";
    }
    expect(text).to.equal(plain.choices[0].message.content);
  });

  it("embeddings: the seed's definition (mean of final-normed hidden states incl. BOS, L2-normalised), one entry per input, base64 and float", async () => {
    const r = await client.embeddings.create({ model: "tiny-f16", input: ["hello world", "你好"] }); // the client sends base64
    expect(r.data.map((d) => d.index)).to.deep.equal([0, 1]);
    for (const [i, text] of ["hello world", "你好"].entries()) {
      const ids = model.tokenize(text, { bos: true });
      model.reset();
      model.forward(ids, { pos: 0, capture: { hidden: true } });
      const want = meanPoolNormalize(model.captured.hiddenFinal!, ids.length, model.config.embeddingLength);
      expect(r.data[i].embedding).to.have.length(model.config.embeddingLength);
      expect(r.data[i].embedding).to.deep.equal(Array.from(want));
      const norm = Math.sqrt(r.data[i].embedding.reduce((a, v) => a + v * v, 0));
      expect(norm).to.be.closeTo(1, 1e-5);
    }
    const f = await client.embeddings.create({ model: "tiny-f16", input: "hello world", encoding_format: "float" });
    expect(f.data).to.have.length(1);
    expect(f.data[0].embedding).to.deep.equal(r.data[0].embedding);
    const ids = await client.embeddings.create({ model: "tiny-f16", input: [model.tokenize("hello world", { bos: true })], encoding_format: "float" });
    expect(ids.data[0].embedding).to.deep.equal(r.data[0].embedding);
    expect(f.usage.prompt_tokens).to.equal(model.tokenize("hello world", { bos: true }).length);
  });

  it("a wrong key is an AuthenticationError (401); an unknown model a BadRequestError (400)", async () => {
    const bad = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "nope", maxRetries: 0 });
    let err: unknown;
    await bad.models.list().catch((e) => (err = e));
    expect(err).to.be.instanceOf(OpenAI.AuthenticationError);
    await client.completions.create({ model: "gpt-4", prompt: "x", max_tokens: 1 }).catch((e) => (err = e));
    expect(err).to.be.instanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).to.equal("model_not_found");
  });

  it("abort through the client's AbortController stops the sequence and frees its slot", async () => {
    const pool = srv.core.pool!;
    const ac = new AbortController();
    const stream = await client.completions.create({ model: "tiny-f16", prompt: "Once", max_tokens: 200, temperature: 0, stream: true }, { signal: ac.signal });
    let got = 0;
    try {
      for await (const _c of stream) if (++got === 3) ac.abort();
    } catch (e) {
      expect(e).to.be.instanceOf(Error); // the client may end the iteration or report the abort
    }
    expect(got).to.be.lessThan(10);
    for (let i = 0; i < 200 && (pool.active > 0 || model.scheduler.pending > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.active).to.equal(0);
    expect(model.scheduler.pending).to.equal(0);
    const stats = pool.slots.map((s) => s.seq.lastStats?.stopReason);
    expect(stats).to.include("aborted");
    expect(srv.logs.some((l) => / 200 /.test(l) && l.includes("/v1/completions"))).to.equal(true);
    // And the server goes on serving.
    const r = await client.completions.create({ model: "tiny-f16", prompt: "Once", max_tokens: 2, temperature: 0 });
    expect(r.choices[0].finish_reason).to.equal("length");
  });

  it("abort of a non-streamed request frees its slot too", async () => {
    const pool = srv.core.pool!;
    const ac = new AbortController();
    const p = client.completions.create({ model: "tiny-f16", prompt: "Once", max_tokens: 200, temperature: 0 }, { signal: ac.signal });
    while (pool.active === 0) await new Promise((r) => setTimeout(r, 2));
    ac.abort();
    let err: unknown;
    await p.catch((e) => (err = e));
    expect(err).to.be.instanceOf(OpenAI.APIUserAbortError);
    for (let i = 0; i < 200 && pool.active > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.active).to.equal(0);
    expect(pool.slots.some((s) => s.seq.lastStats?.stopReason === "aborted" && s.seq.lastStats.generatedTokens < 200)).to.equal(true);
  });

  it("--template alpaca wraps completions as the seed's server does", async () => {
    const s2 = await serve(model, { template: "alpaca", parallel: 1 });
    try {
      const seedPrompt = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n    \n### Instruction:\n为什么\n\n### Response: ";
      const want = await engineText(seedPrompt, 5);
      const r = await new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: "x", maxRetries: 0 }).completions.create({ model: "tiny-f16", prompt: "为什么", max_tokens: 5, temperature: 0 });
      expect(r.choices[0].text).to.equal(want.text);
      expect(alpacaPrompt("为什么")).to.not.equal(seedPrompt); // the server's wrapper is the server demo's, not inference_hf's
    } finally {
      await s2.stop();
    }
  });
});
