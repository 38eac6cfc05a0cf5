// Server-sent events as the OpenAI streaming API sends them: "data: {json}" events separated
// by a blank line, ending with "data: [DONE]". Bytes arrive in arbitrary pieces (a Chinese
// character can be split between two network reads), so decoding and line splitting both
// carry state across pushes.

export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private pending = "";
  private data: string[] = [];

  /** Feed bytes; returns the data payloads of the events completed by them. */
  push(bytes: Uint8Array): string[] {
    return this.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** End of stream: a final event without its blank line still counts. */
  end(): string[] {
    const out = this.feed(this.decoder.decode() + "\n\n");
    this.pending = "";
    return out;
  }

  private feed(text: string): string[] {
    this.pending += text;
    const out: string[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.pending);
      // A lone "\r" at the end might be the first half of "\r\n": wait for more.
      if (!m || (m[0] === "\r" && m.index === this.pending.length - 1)) break;
      const line = this.pending.slice(0, m.index);
      this.pending = this.pending.slice(m.index + m[0].length);
      if (line === "") {
        if (this.data.length) out.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(line[5] === " " ? 6 : 5));
      }
      // Other fields (event:, id:, retry:) and ":" comments do not occur in OpenAI streams.
    }
    return out;
  }
}

export interface ChatChunk {
  /** Text appended to the reply by this chunk ("" when none). */
  content: string;
  finishReason: string | null;
  completionTokens: number | null;
  error: string | null;
}

/** One `data:` payload of a chat-completions stream; null for the final "[DONE]". */
export function decodeChatChunk(data: string): ChatChunk | null {
  if (data.trim() === "[DONE]") return null;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { content: "", finishReason: null, completionTokens: null, error: `the server sent a malformed event: ${data.slice(0, 80)}` };
  }
  const obj = (json ?? {}) as {
    choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
    usage?: { completion_tokens?: unknown } | null;
    error?: { message?: unknown };
  };
  if (obj.error) return { content: "", finishReason: null, completionTokens: null, error: String(obj.error.message ?? "server error") };
  const choice = Array.isArray(obj.choices) ? obj.choices[0] : undefined;
  const content = typeof choice?.delta?.content === "string" ? choice.delta.content : "";
  const finishReason = typeof choice?.finish_reason === "string" ? choice.finish_reason : null;
  const tokens = obj.usage?.completion_tokens;
  return { content, finishReason, completionTokens: typeof tokens === "number" ? tokens : null, error: null };
}
