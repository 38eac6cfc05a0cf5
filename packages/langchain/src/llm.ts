// LlamatsLLM: a LangChain.js LLM (prompt -> text) over a model loaded in this process. What
// the seed's HuggingFacePipeline was for its chains: the continuation only, without the prompt.

import { LLM, type BaseLLMCallOptions, type BaseLLMParams } from "@langchain/core/language_models/llms";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { GenerationChunk } from "@langchain/core/outputs";
import { generateOptions, generatePieces, type LlamatsModelFields, modelFields } from "./options.js";

export interface LlamatsLLMInput extends LlamatsModelFields, BaseLLMParams {}

export class LlamatsLLM extends LLM<BaseLLMCallOptions> {
  readonly fields: LlamatsModelFields;

  static override lc_name(): string {
    return "LlamatsLLM";
  }

  constructor(input: LlamatsLLMInput) {
    super(input);
    this.fields = modelFields(input);
  }

  _llmType(): string {
    return "llamats";
  }

  async _call(prompt: string, options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<string> {
    let text = "";
    for await (const chunk of this._streamResponseChunks(prompt, options, runManager)) text += chunk.text;
    return text;
  }

  override async *_streamResponseChunks(prompt: string, options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): AsyncGenerator<GenerationChunk> {
    const opts = generateOptions(this.fields, { stop: options.stop, signal: options.signal });
    for await (const piece of generatePieces(this.fields.model, prompt, opts)) {
      yield new GenerationChunk({ text: piece });
      await runManager?.handleLLMNewToken(piece);
    }
  }
}
