// Conversations and settings kept in localStorage under one key, read back defensively (a
// corrupt or foreign value starts fresh instead of breaking the page).

import { defaultSettings, sanitizeSettings, type Settings } from "./settings.js";

export const storageKey = "llamats.webchat.v1";

export interface StoredMessage {
  role: "user" | "assistant";
  content: string;
  /** Assistant replies: generated tokens, decode speed, and whether Stop cut it short. */
  tokens?: number;
  tokensPerSecond?: number | null;
  stopped?: boolean;
  error?: string;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: string;
  messages: StoredMessage[];
}

export interface State {
  version: 1;
  currentId: string;
  conversations: Conversation[];
  settings: Settings;
}

export function newConversation(): Conversation {
  const id = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return { id, title: "New chat", createdAt: new Date().toISOString(), messages: [] };
}

function sanitizeMessage(raw: unknown): StoredMessage | null {
  if (!raw || typeof raw !== "object") return null;
  const m = raw as Record<string, unknown>;
  if ((m.role !== "user" && m.role !== "assistant") || typeof m.content !== "string") return null;
  const out: StoredMessage = { role: m.role, content: m.content };
  if (typeof m.tokens === "number") out.tokens = m.tokens;
  if (typeof m.tokensPerSecond === "number") out.tokensPerSecond = m.tokensPerSecond;
  if (m.stopped === true) out.stopped = true;
  if (typeof m.error === "string") out.error = m.error;
  return out;
}

export function parseState(text: string | null): State {
  const fresh = (): State => {
    const c = newConversation();
    return { version: 1, currentId: c.id, conversations: [c], settings: defaultSettings() };
  };
  if (!text) return fresh();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fresh();
  }
  const r = raw as Partial<State> | null;
  if (!r || r.version !== 1 || !Array.isArray(r.conversations)) return fresh();
  const conversations: Conversation[] = [];
  for (const c of r.conversations as unknown[]) {
    const cc = c as Partial<Conversation> | null;
    if (!cc || typeof cc.id !== "string" || !Array.isArray(cc.messages)) continue;
    conversations.push({
      id: cc.id,
      title: typeof cc.title === "string" ? cc.title : "Chat",
      createdAt: typeof cc.createdAt === "string" ? cc.createdAt : new Date().toISOString(),
      messages: cc.messages.map(sanitizeMessage).filter((m): m is StoredMessage => m !== null),
    });
  }
  if (conversations.length === 0) return fresh();
  const currentId = conversations.some((c) => c.id === r.currentId) ? (r.currentId as string) : conversations[0].id;
  return { version: 1, currentId, conversations, settings: sanitizeSettings(r.settings) };
}

export function loadState(): State {
  try {
    return parseState(localStorage.getItem(storageKey));
  } catch {
    return parseState(null); // storage disabled (private mode, blocked cookies)
  }
}

/** False when storage is full or disabled; the chat keeps working in memory. */
export function saveState(state: State): boolean {
  try {
    localStorage.setItem(storageKey, JSON.stringify(state));
    return true;
  } catch {
    return false;
  }
}

/** A conversation's title: the start of its first question. */
export function titleFrom(question: string): string {
  const line = question.trim().split(/\s*\n\s*/)[0] ?? "";
  return line.length > 40 ? `${line.slice(0, 40)}…` : line || "New chat";
}

/** What "Export JSON" downloads: every conversation, with the settings in use. */
export function exportJson(state: State, exportedAt: Date): string {
  return JSON.stringify({ format: "llamats-webchat", version: 1, exportedAt: exportedAt.toISOString(), settings: state.settings, conversations: state.conversations }, null, 2);
}
