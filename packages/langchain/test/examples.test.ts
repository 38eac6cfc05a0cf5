// docs/examples/langchain-qa.ts and langchain-sum.ts on a small real model, in process: the
// prompts the model receives are byte-identical to the seed's templates (written out here
// from langchain_qa.py / langchain_sum.py's string pieces, not taken from the package),
// filled with the retrieved / split chunks, and the chains return the model's text.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Document } from "@langchain/core/documents";
import type { LLMResult } from "@langchain/core/outputs";
import type { LlamaModel } from "@llamats/engine";
import { ask, loadChunks, qaChain } from "../../../docs/examples/langchain-qa.ts";
import { splitText, summarize } from "../../../docs/examples/langchain-sum.ts";
import { openBackend, type Backend } from "../../../docs/examples/langchain-common.ts";
import { chineseDocument, cleanup, tinyModel } from "./helpers.js";

// The seed's templates, piece by piece as its Python sources concatenate them.
const seed = {
  stuff: (context: string, question: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" + context + "\n" + question + "\n\n### Response: ",
  initial: (context_str: string, question: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "以下为背景知识：\n" + context_str + "\n" + "请根据以上背景知识, 回答这个问题：" + question + "。\n\n" + "### Response: ",
  refine: (question: string, existing_answer: string, context_str: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "这是原始问题: " + question + "\n" + "已有的回答: " + existing_answer + "\n" + "现在还有一些文字，（如果有需要）你可以根据它们完善现有的回答。" +
    "\n\n" + context_str + "\n" + "\\nn" + "请根据新的文段，进一步完善你的回答。\n\n" + "### Response: ",
  sum: (text: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n请为以下文字写一段摘要:\n" + text + "\n\n### Response: ",
  sumRefine: (existing_answer: string, text: string) =>
    "Below is an instruction that describes a task." + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "已有一段摘要：" + existing_answer + "\n" + "现在还有一些文字，（如果有需要）你可以根据它们完善现有的摘要。" + "\n" + text + "\n" + "\n" +
    "如果这段文字没有用，返回原来的摘要即可。请你生成一个最终的摘要。" + "\n\n### Response: ",
};

/** What the LLM received and answered, and what the retriever returned, during one chain run. */
function recorder() {
  const rec = { prompts: [] as string[], outputs: [] as string[], retrieved: [] as Document[] };
  const handler = {
    handleLLMStart: (_llm: unknown, prompts: string[]) => void rec.prompts.push(...prompts),
    handleLLMEnd: (out: LLMResult) => void rec.outputs.push(out.generations[0][0].text),
    handleRetrieverEnd: (docs: Document[]) => void rec.retrieved.push(...docs),
  };
  return { rec, handler };
}

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
