// ChatLlamats: a LangChain.js chat model over a model loaded in this process. Messages go
// through the model's chat template, the gradio demo's multi-turn Alpaca prompt that
// `llamats chat` uses (engine chatPrompt: system text, "### Instruction:" / "### Response: "
// turns); the reply stops before the next "### Instruction:".

import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { chatPrompt, type ChatTurn } from "@llamats/engine";
import { LlamatsError } from "@llamats/tensor";
import { generateOptions, generatePieces, type LlamatsModelFields, modelFields } from "./options.js";

export interface ChatLlamatsInput extends LlamatsModelFields, BaseChatModelParams {
  /** History kept in the prompt, in characters (the demo's max_memory; default 256). */
  maxMemory?: number;
}

const STOP = "### Instruction:";

/** The prompt the model receives for these messages (system text, then the turns). */
export function chatMessagesPrompt(messages: readonly BaseMessage[], maxMemory = 256): string {
  let systemPrompt: string | undefined;
  const turns: ChatTurn[] = [];
  for (const [i, m] of messages.entries()) {
    const type = m._getType();
    const text = typeof m.content === "string" ? m.content : m.content.map((p) => ("text" in p && typeof p.text === "string" ? p.text : "")).join("");
    if (type === "system") systemPrompt = text; // the last system message wins, as the seed's server
    else if (type === "human") turns.push({ user: text, assistant: "" });
    else if (type === "ai") {
      if (turns.length === 0 || turns[turns.length - 1].assistant !== "") throw new LlamatsError(`messages[${i}]: an AI message must answer a human message`);
      turns[turns.length - 1] = { user: turns[turns.length - 1].user, assistant: text };
    } else throw new LlamatsError(`messages[${i}]: ${type} messages are not supported (system, human, ai)`);
  }
  if (turns.length === 0 || turns[turns.length - 1].assistant !== "") throw new LlamatsError("the last message must be a human message");
  return chatPrompt(turns, { maxMemory, systemPrompt });
}

export class ChatLlamats extends BaseChatModel<BaseChatModelCallOptions> {
  readonly fields: LlamatsModelFields;
  readonly maxMemory: number;

  static override lc_name(): string {
    return "ChatLlamats";
  }

  constructor(input: ChatLlamatsInput) {
    super(input);
    this.fields = modelFields(input);
    this.maxMemory = input.maxMemory ?? 256;
  }

  _llmType(): string {
    return "llamats-chat";
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    let text = "";
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) text += chunk.text;
    return { generations: [{ text, message: new AIMessage(text) }] };
  }

  override async *_streamResponseChunks(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk> {
    const prompt = chatMessagesPrompt(messages, this.maxMemory);
    const opts = generateOptions(this.fields, { stop: [STOP, ...(options.stop ?? [])], signal: options.signal });
    let started = false;
    for await (const raw of generatePieces(this.fields.model, prompt, opts)) {
      // The reply's leading whitespace goes, as `llamats chat` and the demo strip it.
      const piece = started ? raw : raw.trimStart();
      if (piece === "") continue;
      started = true;
      yield new ChatGenerationChunk({ text: piece, message: new AIMessageChunk({ content: piece }) });
      await runManager?.handleLLMNewToken(piece);
    }
  }
}
