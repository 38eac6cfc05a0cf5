// LlamatsEmbeddings: LangChain.js embeddings from a model loaded in this process, by the
// seed server's definition (engine embedText: the last hidden state after the final RMSNorm,
// mean over every token including BOS, L2-normalised). The seed's langchain_qa.py used a
// separate sentence-transformers model instead; any LangChain Embeddings class plugs in the
// same way (docs/LANGCHAIN.md).

import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { embedText, type LlamaModel } from "@llamats/engine";

export interface LlamatsEmbeddingsInput extends EmbeddingsParams {
  model: LlamaModel;
}

export class LlamatsEmbeddings extends Embeddings {
  readonly model: LlamaModel;

  constructor(input: LlamatsEmbeddingsInput) {
    super(input);
    this.model = input.model;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (const t of texts) out.push(await this.embedQuery(t));
    return out;
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.caller.call(async () => Array.from(await embedText(this.model, text)));
  }
}
