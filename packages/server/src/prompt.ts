// Prompts from requests (CHINESE-LLAMA-ALPACA.md §7).
// - chat, template "alpaca" (default): the seed's openai_server_demo prompt: the system text
//   (default the Alpaca sentence; the last system message wins) + "\n\n", then per message
//   user -> "### Instruction:\n{c}\n\n", assistant -> "### Response: {c}\n\n", and finally
//   "### Response: ".
// - chat, template "gradio": the gradio demo's multi-turn prompt (engine chatPrompt, quirks).
// - chat, template "raw": the messages' contents one after another, each followed by "\n"
//   (for base models that just continue text).
// - completions: the prompt as given (OpenAI); with `--template alpaca` the seed's wrapper
//   "...request.\n    \n### Instruction:\n{prompt}\n\n### Response: " (4 spaces: its quirk).

import { ALPACA_PREAMBLE, chatPrompt, type ChatTurn } from "@llamats/engine";
import { badRequest } from "./errors.js";
import type { TemplateName } from "./options.js";

export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

interface RawMessage {
  role: string;
  content?: string | null | { type: string; text?: string }[];
  message?: string;
}

/** Request messages (a string, or objects with `content` or the seed's `message`) -> plain messages. */
export function normalizeMessages(messages: string | RawMessage[]): ChatMessage[] {
  if (typeof messages === "string") return [{ role: "user", content: messages }];
  return messages.map((m, i) => {
    const role = m.role === "developer" ? "system" : (m.role as ChatMessage["role"]);
    let content: string | undefined;
    if (typeof m.content === "string") content = m.content;
    else if (Array.isArray(m.content)) {
      content = m.content.map((part, j) => {
        if (part.type !== "text" || typeof part.text !== "string") {
          throw badRequest(`messages[${i}].content[${j}]: only text parts are supported (got type "${part.type}")`, `messages[${i}].content[${j}].type`);
        }
        return part.text;
      }).join("");
    } else if (typeof m.message === "string") content = m.message;
    else if (m.content === null && role === "assistant") content = "";
    if (content === undefined) throw badRequest(`messages[${i}]: want a string "content" (or the seed's "message")`, `messages[${i}].content`);
    return { role, content };
  });
}

export function buildChatPrompt(messages: readonly ChatMessage[], template: TemplateName = "alpaca"): string {
  const systems = messages.filter((m) => m.role === "system");
  const system = systems.length ? systems[systems.length - 1].content : ALPACA_PREAMBLE;
  const turns = messages.filter((m) => m.role !== "system");
  switch (template) {
    case "alpaca": {
      let p = system + "\n\n";
      for (const m of turns) p += m.role === "user" ? `### Instruction:\n${m.content}\n\n` : `### Response: ${m.content}\n\n`;
      return p + "### Response: ";
    }
    case "gradio": {
      const history: ChatTurn[] = [];
      for (const m of turns) {
        if (m.role === "user") history.push({ user: m.content, assistant: "" });
        else if (history.length && history[history.length - 1].assistant === "") history[history.length - 1] = { ...history[history.length - 1], assistant: m.content };
        else history.push({ user: "", assistant: m.content });
      }
      if (history.length === 0 || history[history.length - 1].assistant !== "") history.push({ user: "", assistant: "" });
      return chatPrompt(history, { systemPrompt: system });
    }
    case "raw":
      return messages.map((m) => m.content + "\n").join("");
  }
}

/** The seed's /v1/completions wrapper (with its 4-space line). */
export function seedCompletionPrompt(prompt: string): string {
  return `${ALPACA_PREAMBLE}\n    \n### Instruction:\n${prompt}\n\n### Response: `;
}
