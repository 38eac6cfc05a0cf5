// docs/examples/langchain-qa.ts and langchain-sum.ts on a small real model, in process: the
// prompts the model receives are byte-identical to the seed's templates (written out here
// from langchain_qa.py / langchain_sum.py's string pieces, not taken from the package),
// filled with the retrieved / split chunks, and the chains return the model's text.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@langchain/core/documents";
import type { LlamaModel } from "@llamats/engine";
import { ask, loadChunks, qaChain } from "../../../docs/examples/langchain-qa.ts";
import { splitText, summarize } from "../../../docs/examples/langchain-sum.ts";
import { openBackend, type Backend } from "../../../docs/examples/langchain-common.ts";
import { chineseDocument, cleanup, tinyModel } from "./helpers.js";
import { recorder, seed } from "./seed-templates.js";

describe("docs/examples: the seed's LangChain scripts (in process, synthetic tiny model)", function () {
  let model: LlamaModel;
  let backend: Backend;
  let dir: string;
  let chunks: Document[];
  const question = "为什么要减少污染？";
  before(async () => {
    model = await tinyModel();
    backend = await openBackend({ model, maxTokens: 6 });
    dir = mkdtempSync(join(tmpdir(), "llamats-langchain-doc-"));
    writeFileSync(join(dir, "doc.txt"), chineseDocument());
    chunks = await loadChunks(join(dir, "doc.txt"));
  });
  after(() => {
    backend.close();
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
    cleanup();
  });

  it("TextLoader + RecursiveCharacterTextSplitter(600, 100): chunks of at most 600 characters, overlapping", async () => {
    expect(chunks.length).to.be.within(2, 4);
    for (const c of chunks) expect(c.pageContent.length).to.be.at.most(600);
    expect((await splitText(chineseDocument())).map((d) => d.pageContent)).to.deep.equal(chunks.map((d) => d.pageContent));
  });

  it("QA stuff (k=1): one prompt, the seed's stuff template around the retrieved chunk and the question", async () => {
    const chain = await qaChain(backend.llm, backend.embeddings, chunks, "stuff");
    const { rec, handler } = recorder();
    const answer = await chain.invoke({ query: question }, { callbacks: [handler] });
    expect(rec.retrieved.length).to.equal(1);
    expect(chunks.map((c) => c.pageContent)).to.include(rec.retrieved[0].pageContent);
    expect(rec.prompts).to.deep.equal([seed.stuff(rec.retrieved[0].pageContent, question)]);
    expect(answer.text).to.be.a("string").and.equal(rec.outputs[0]);
    expect(answer.text.length).to.be.greaterThan(0);
  });

  it("QA refine (k=1, the seed's): one prompt, the initial template", async () => {
    const chain = await qaChain(backend.llm, backend.embeddings, chunks, "refine");
    const { rec, handler } = recorder();
    const text = await ask(chain.withConfig({ callbacks: [handler] }) as typeof chain, question);
    expect(rec.prompts).to.deep.equal([seed.initial(rec.retrieved[0].pageContent, question)]);
    expect(text).to.equal(rec.outputs[0]);
  });

  it("QA refine with k=2: the initial template, then the refine template with the first answer (its literal \\nn)", async () => {
    const chain = await qaChain(backend.llm, backend.embeddings, chunks, "refine", 2);
    const { rec, handler } = recorder();
    const answer = await chain.invoke({ query: question }, { callbacks: [handler] });
    expect(rec.retrieved.length).to.equal(2);
    const [d0, d1] = rec.retrieved.map((d) => d.pageContent);
    expect(rec.prompts).to.deep.equal([seed.initial(d0, question), seed.refine(question, rec.outputs[0], d1)]);
    expect(rec.prompts[1]).to.contain("\n\\nn请根据");
    expect(answer.output_text).to.equal(rec.outputs[1]);
  });

  it("summary stuff: one prompt with every chunk, joined by a blank line", async () => {
    const { rec, handler } = recorder();
    const summary = await summarize(backend.llm.withConfig({ callbacks: [handler] }) as typeof backend.llm, chunks, "stuff");
    expect(rec.prompts).to.deep.equal([seed.sum(chunks.map((c) => c.pageContent).join("\n\n"))]);
    expect(summary).to.equal(rec.outputs[0]);
    expect(summary.length).to.be.greaterThan(0);
  });

  it("summary refine: the first chunk, then one refine prompt per chunk with the summary so far (header without the space)", async () => {
    const { rec, handler } = recorder();
    const summary = await summarize(backend.llm.withConfig({ callbacks: [handler] }) as typeof backend.llm, chunks, "refine");
    const want = [seed.sum(chunks[0].pageContent)];
    for (let i = 1; i < chunks.length; i++) want.push(seed.sumRefine(rec.outputs[i - 1], chunks[i].pageContent));
    expect(rec.prompts).to.deep.equal(want);
    expect(rec.prompts[1].startsWith("Below is an instruction that describes a task.Write a response")).to.equal(true);
    expect(summary).to.equal(rec.outputs[chunks.length - 1]);
  });
});
