// The page talks to the same OpenAI-style API every other client uses: POST
// /v1/chat/completions with stream:true, read as server-sent events. Stop = abort the fetch;
// the server sees the connection close and frees the sequence's slot.

import { SseParser, decodeChatChunk } from "./sse.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface StreamStats {
  /** Generated tokens: the server's usage.completion_tokens, else the number of content chunks. */
  tokens: number;
  /** From the first content chunk to the end of the stream. */
  seconds: number;
  finishReason: string | null;
}

export class ApiError extends Error {}

export interface StreamCallbacks {
  onDelta(text: string): void;
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    if (msg) return `${res.status}: ${msg}`;
  } catch {
    // not JSON: fall through to the raw text
  }
  return `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`;
}

/**
 * Stream one chat completion. Resolves when the stream ends; rejects with the fetch's
 * AbortError when `signal` aborts, and with ApiError for HTTP or stream errors.
 */
/** Headers for a server started with --api-key (none when the key is empty). */
export function authHeaders(apiKey: string): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

export async function streamChat(body: Record<string, unknown>, apiKey: string, signal: AbortSignal, cb: StreamCallbacks): Promise<StreamStats> {
  const res = await fetch("v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...authHeaders(apiKey) },
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok || !res.body) throw new ApiError(await errorMessage(res));
  const reader = res.body.getReader();
  const parser = new SseParser();
  let chunks = 0;
  let usageTokens: number | null = null;
  let finishReason: string | null = null;
  let firstAt = 0;
  let done = false;
  const handle = (payloads: string[]): void => {
    for (const data of payloads) {
      if (done) return;
      const chunk = decodeChatChunk(data);
      if (chunk === null) { done = true; return; }
      if (chunk.error) throw new ApiError(chunk.error);
      if (chunk.content) {
        if (chunks === 0) firstAt = performance.now();
        chunks++;
        cb.onDelta(chunk.content);
      }
      if (chunk.finishReason) finishReason = chunk.finishReason;
      if (chunk.completionTokens !== null) usageTokens = chunk.completionTokens;
    }
  };
  try {
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) { handle(parser.end()); break; }
      handle(parser.push(value));
    }
  } finally {
    if (done) await reader.cancel().catch(() => {});
  }
  // A server that dies mid-reply closes the connection without "[DONE]" or a finish reason.
  if (!done && finishReason === null) throw new ApiError("the stream ended before the reply was complete");
  const seconds = chunks > 0 ? (performance.now() - firstAt) / 1000 : 0;
  return { tokens: usageTokens ?? chunks, seconds, finishReason };
}

/** The first model the server lists (sent as `model`), or null when it lists none. */
export async function firstModelId(apiKey: string): Promise<string | null> {
  try {
    const res = await fetch("v1/models", { headers: authHeaders(apiKey) });
    if (!res.ok) return null;
    const json = (await res.json()) as { data?: { id?: unknown }[] };
    const id = json.data?.[0]?.id;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

/** Decode speed: tokens after the first over the time since the first; null when unmeasurable. */
export function tokensPerSecond(stats: StreamStats): number | null {
  if (stats.tokens < 2 || stats.seconds <= 0) return null;
  return (stats.tokens - 1) / stats.seconds;
}
