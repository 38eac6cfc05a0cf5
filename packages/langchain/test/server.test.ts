// docs/examples against `llamats serve` on 127.0.0.1 (the server in this process, over the
// synthetic tiny model), through @langchain/openai: the prompts the server receives in
// /v1/completions requests are byte-identical to the seed's templates, the chains return the
// server's text — the same text as in process (same model, greedy) — the server's embeddings
// of identical texts are identical unit vectors (equal to the in-process class's), and
// streaming through LangChain yields the same text as a plain call.
import { expect } from "chai";
import type { Document } from "@langchain/core/documents";
import { OpenAI } from "@langchain/openai";
import type { LlamaModel } from "@llamats/engine";
import { startServer, type ServerHandle } from "@llamats/server";
import { qaChain } from "../../../docs/examples/langchain-qa.ts";
import { splitText, summarize } from "../../../docs/examples/langchain-sum.ts";
import { openBackend, type Backend } from "../../../docs/examples/langchain-common.ts";
import { chineseDocument, cleanup, tinyModel } from "./helpers.js";
import { recorder, seed } from "./seed-templates.js";

describe("docs/examples against llamats serve on 127.0.0.1 (synthetic tiny model)", function () {
  let model: LlamaModel;
  let server: ServerHandle;
  let remote: Backend;
  let local: Backend;
  let chunks: Document[];
  /** The prompts of the /v1/completions requests, in order, and the texts the server returned. */
  const sent = { prompts: [] as string[], texts: [] as string[] };
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input).endsWith("/completions") && typeof init?.body === "string") {
      const body = JSON.parse(init.body) as { prompt: string | string[]; stream?: boolean };
      sent.prompts.push(...(Array.isArray(body.prompt) ? body.prompt : [body.prompt]));
      if (!body.stream) sent.texts.push(((await res.clone().json()) as { choices: { text: string }[] }).choices[0].text);
    }
    return res;
  };
  const question = "为什么要减少污染？";

  before(async () => {
    model = await tinyModel();
    server = await startServer({ model, host: "127.0.0.1", port: 0, log: () => {} });
    await server.ready;
    remote = await openBackend({ server: server.url, maxTokens: 6, fetch: recordingFetch });
    local = await openBackend({ model, maxTokens: 6 });
    chunks = await splitText(chineseDocument());
  });
  after(async () => {
    await server?.close();
    model?.dispose();
    cleanup();
  });
  beforeEach(() => {
    sent.prompts.length = 0;
    sent.texts.length = 0;
  });

  it("QA stuff: the server receives the seed's stuff prompt; the answer is the server's text, as in process", async () => {
    const { rec, handler } = recorder();
    const answer = await (await qaChain(remote.llm, remote.embeddings, chunks, "stuff")).invoke({ query: question }, { callbacks: [handler] });
    expect(rec.retrieved.length).to.equal(1);
    expect(sent.prompts).to.deep.equal([seed.stuff(rec.retrieved[0].pageContent, question)]);
    expect(answer.text).to.equal(sent.texts[0]);
    expect(answer.text.length).to.be.greaterThan(0);
    const inProcess = await (await qaChain(local.llm, local.embeddings, chunks, "stuff")).invoke({ query: question });
    expect(answer.text).to.equal(inProcess.text);
  });

  it("QA refine (k=2): the initial prompt, then the refine prompt with the server's first answer", async () => {
    const { rec, handler } = recorder();
    const answer = await (await qaChain(remote.llm, remote.embeddings, chunks, "refine", 2)).invoke({ query: question }, { callbacks: [handler] });
    const [d0, d1] = rec.retrieved.map((d) => d.pageContent);
    expect(sent.prompts).to.deep.equal([seed.initial(d0, question), seed.refine(question, sent.texts[0], d1)]);
    expect(answer.output_text).to.equal(sent.texts[1]);
  });

  it("summaries stuff and refine: the seed's prompts reach the server", async () => {
    const stuff = await summarize(remote.llm, chunks, "stuff");
    expect(sent.prompts).to.deep.equal([seed.sum(chunks.map((c) => c.pageContent).join("\n\n"))]);
    expect(stuff).to.equal(sent.texts[0]);
    sent.prompts.length = 0;
    sent.texts.length = 0;
    const refined = await summarize(remote.llm, chunks, "refine");
    const want = [seed.sum(chunks[0].pageContent)];
    for (let i = 1; i < chunks.length; i++) want.push(seed.sumRefine(sent.texts[i - 1], chunks[i].pageContent));
    expect(sent.prompts).to.deep.equal(want);
    expect(refined).to.equal(sent.texts[chunks.length - 1]);
  });

  it("embeddings over /v1/embeddings: identical texts, identical unit vectors, equal to the in-process class's", async () => {
    const [a, b, c] = await remote.embeddings.embedDocuments(["保护环境。\n减少污染。", "保护环境。\n减少污染。", "中国"]);
    expect(a.length).to.equal(model.config.embeddingLength);
    expect(b).to.deep.equal(a);
    expect(c).to.not.deep.equal(a);
    expect(Math.hypot(...a)).to.be.closeTo(1, 1e-6);
    const mine = await local.embeddings.embedQuery("保护环境。\n减少污染。");
    for (let i = 0; i < a.length; i++) expect(a[i]).to.be.closeTo(mine[i], 1e-6);
  });

  it("streaming through LangChain (SSE) yields the same text as a plain call", async () => {
    const llm = remote.llm as OpenAI;
    const prompt = seed.stuff(chunks[1].pageContent, question);
    const plain = await llm.invoke(prompt);
    const pieces: string[] = [];
    for await (const piece of await llm.stream(prompt)) pieces.push(piece);
    expect(pieces.length).to.be.greaterThan(1);
    expect(pieces.join("")).to.equal(plain);
  });
});
