// The seed's langchain_qa.py in LangChain.js: document question answering on Chinese-Alpaca.
//   npx tsx docs/examples/langchain-qa.ts --file_path doc.txt --model_path alpaca.gguf [--chain_type refine|stuff]
//   npx tsx docs/examples/langchain-qa.ts --file_path doc.txt --server http://127.0.0.1:19327   (llamats serve)
// (from the repository root; add `--question "..."` for one question instead of the loop).
// Pipeline as the seed's: TextLoader -> RecursiveCharacterTextSplitter(600, 100) -> a vector
// store (in memory here; FAISS there) -> retriever k=1 -> RetrievalQA with the stuff or refine
// chain and the seed's prompts. Embeddings: the seed used a separate sentence-transformers
// model; here the LLM's own (the server's definition), see docs/LANGCHAIN.md to plug another.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { Embeddings } from "@langchain/core/embeddings";
import type { Document } from "@langchain/core/documents";
import type { BaseLLM } from "@langchain/core/language_models/llms";
import { PromptTemplate } from "@langchain/core/prompts";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { LLMChain, RefineDocumentsChain, RetrievalQAChain, loadQAStuffChain } from "langchain/chains";
import { TextLoader } from "langchain/document_loaders/fs/text";
import { MemoryVectorStore } from "langchain/vectorstores/memory";
import { QA_INITIAL_TEMPLATE, QA_REFINE_TEMPLATE, QA_STUFF_TEMPLATE } from "@llamats/langchain";
import { openBackend, parseFlags } from "./langchain-common.js";

export type ChainType = "stuff" | "refine";

/** TextLoader -> RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=100). */
export async function loadChunks(filePath: string): Promise<Document[]> {
  const documents = await new TextLoader(filePath).load();
  return new RecursiveCharacterTextSplitter({ chunkSize: 600, chunkOverlap: 100 }).splitDocuments(documents);
}

/** RetrievalQA over the chunks, as RetrievalQA.from_chain_type with the seed's prompts (k=1 as the seed). */
export async function qaChain(llm: BaseLLM, embeddings: Embeddings, chunks: Document[], chainType: ChainType, k = 1): Promise<RetrievalQAChain> {
  const store = await MemoryVectorStore.fromDocuments(chunks, embeddings);
  const retriever = store.asRetriever({ k });
  if (chainType === "stuff") {
    const combineDocumentsChain = loadQAStuffChain(llm, { prompt: PromptTemplate.fromTemplate(QA_STUFF_TEMPLATE) });
    return new RetrievalQAChain({ combineDocumentsChain, retriever });
  }
  // Python's refine QA chain names the document variable context_str (JS's default is context).
  const combineDocumentsChain = new RefineDocumentsChain({
    llmChain: new LLMChain({ llm, prompt: PromptTemplate.fromTemplate(QA_INITIAL_TEMPLATE) }),
    refineLLMChain: new LLMChain({ llm, prompt: PromptTemplate.fromTemplate(QA_REFINE_TEMPLATE) }),
    documentVariableName: "context_str",
    initialResponseName: "existing_answer",
  });
  return new RetrievalQAChain({ combineDocumentsChain, retriever });
}

/** qa.run(query): the answer text. */
export async function ask(chain: RetrievalQAChain, query: string): Promise<string> {
  const res = await chain.invoke({ query });
  return String(res.text ?? res.output_text);
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), ["question"]);
  const chainType = (f.chain_type ?? "refine") as ChainType; // the seed's default
  if (chainType !== "stuff" && chainType !== "refine") throw new Error(`--chain_type ${chainType}: want stuff or refine`);
  if (!f.file_path) throw new Error("--file_path FILE is required");
  const backend = await openBackend({ modelPath: f.model_path, server: f.server, maxTokens: f.max_tokens ? Number(f.max_tokens) : undefined, apiKey: f.api_key });
  try {
    const chain = await qaChain(backend.llm, backend.embeddings, await loadChunks(f.file_path), chainType);
    if (f.question !== undefined) {
      console.log(await ask(chain, f.question));
      return;
    }
    // The seed's loop: questions until an empty line (or the end of the input). Reading the
    // lines as an async iterator keeps those that arrive while an answer is being generated.
    const rl = createInterface({ input: process.stdin });
    try {
      process.stderr.write("请输入问题：");
      for await (const query of rl) {
        if (query.trim().length === 0) break;
        console.log(await ask(chain, query));
        process.stderr.write("请输入问题：");
      }
    } finally {
      rl.close();
    }
  } finally {
    backend.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`langchain-qa: ${err.message}`);
    process.exit(2);
  });
}
