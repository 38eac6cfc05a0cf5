// The seed's langchain_sum.py in LangChain.js: summarise a text file with Chinese-Alpaca.
//   npx tsx docs/examples/langchain-sum.ts --file_path doc.txt --model_path alpaca.gguf [--chain_type refine|stuff]
//   npx tsx docs/examples/langchain-sum.ts --file_path doc.txt --server http://127.0.0.1:19327   (llamats serve)
// As the seed: the file's text -> RecursiveCharacterTextSplitter(600, 100).create_documents ->
// load_summarize_chain stuff (all chunks in one prompt) or refine (the first chunk, then one
// refine prompt per further chunk), with its prompts (the refine header's missing space kept).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Document } from "@langchain/core/documents";
import type { BaseLLM } from "@langchain/core/language_models/llms";
import { PromptTemplate } from "@langchain/core/prompts";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { loadSummarizationChain } from "langchain/chains";
import { SUM_REFINE_TEMPLATE, SUM_TEMPLATE } from "@llamats/langchain";
import { openBackend, parseFlags } from "./langchain-common.js";

export type ChainType = "stuff" | "refine";

/** text_splitter.create_documents([text]) with chunk_size=600, chunk_overlap=100. */
export function splitText(text: string): Promise<Document[]> {
  return new RecursiveCharacterTextSplitter({ chunkSize: 600, chunkOverlap: 100 }).createDocuments([text]);
}

/** chain.run(docs): the summary. */
export async function summarize(llm: BaseLLM, docs: Document[], chainType: ChainType): Promise<string> {
  const prompt = PromptTemplate.fromTemplate(SUM_TEMPLATE);
  const chain =
    chainType === "stuff"
      ? loadSummarizationChain(llm, { type: "stuff", prompt })
      : loadSummarizationChain(llm, { type: "refine", questionPrompt: prompt, refinePrompt: PromptTemplate.fromTemplate(SUM_REFINE_TEMPLATE) });
  const res = await chain.invoke({ input_documents: docs });
  return String(res.output_text ?? res.text);
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const chainType = (f.chain_type ?? "refine") as ChainType;
  if (chainType !== "stuff" && chainType !== "refine") throw new Error(`--chain_type ${chainType}: want stuff or refine`);
  if (!f.file_path) throw new Error("--file_path FILE is required");
  const backend = await openBackend({ modelPath: f.model_path, server: f.server, maxTokens: f.max_tokens ? Number(f.max_tokens) : undefined, apiKey: f.api_key });
  try {
    console.log(await summarize(backend.llm, await splitText(readFileSync(f.file_path, "utf8")), chainType));
  } finally {
    backend.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: Error) => {
    console.error(`langchain-sum: ${err.message}`);
    process.exit(2);
  });
}
