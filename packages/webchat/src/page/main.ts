// The chat page: wires the DOM of index.html to the conversation state, the settings and the
// streaming API. Model text is rendered by render.ts (text nodes only); everything else the
// page shows comes from the user or from this file.

import { firstModelId, streamChat, tokensPerSecond, type ChatMessage } from "./api.js";
import { copyText } from "./clipboard.js";
import { isSendKey } from "./keys.js";
import { renderMarkdownInto } from "./render.js";
import { defaultSettings, samplingFields, sliders, snap } from "./settings.js";
import { exportJson, loadState, newConversation, saveState, titleFrom, type Conversation, type StoredMessage } from "./store.js";

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`webchat: #${id} missing from index.html`);
  return node as T;
}

const ui = {
  model: byId<HTMLSpanElement>("model"),
  conversation: byId<HTMLSelectElement>("conversation"),
  newChat: byId<HTMLButtonElement>("new-chat"),
  exportButton: byId<HTMLButtonElement>("export"),
  messages: byId<HTMLDivElement>("messages"),
  status: byId<HTMLParagraphElement>("status"),
  composer: byId<HTMLFormElement>("composer"),
  input: byId<HTMLTextAreaElement>("input"),
  send: byId<HTMLButtonElement>("send"),
  regenerate: byId<HTMLButtonElement>("regenerate"),
  clear: byId<HTMLButtonElement>("clear"),
  settingsBox: byId<HTMLDetailsElement>("settings-box"),
  systemPrompt: byId<HTMLTextAreaElement>("system-prompt"),
  sliders: byId<HTMLDivElement>("sliders"),
  doSample: byId<HTMLInputElement>("do-sample"),
  resetSettings: byId<HTMLButtonElement>("reset-settings"),
  apiKey: byId<HTMLInputElement>("api-key"),
};

// The API key (servers started with --api-key) lives in sessionStorage only: it is a secret,
// so it is neither kept across browser sessions nor exported with the conversations.
const apiKeyStorage = "llamats.webchat.apiKey";
function readApiKey(): string {
  try {
    return sessionStorage.getItem(apiKeyStorage) ?? "";
  } catch {
    return "";
  }
}
let apiKey = readApiKey();

const state = loadState();
let model: string | null = null;
let composing = false;

interface Streaming {
  controller: AbortController;
  reply: StoredMessage;
  body: HTMLElement;
  renderQueued: boolean;
}
let streaming: Streaming | null = null;

function current(): Conversation {
  let conv = state.conversations.find((c) => c.id === state.currentId);
  if (!conv) {
    conv = newConversation();
    state.conversations.unshift(conv);
    state.currentId = conv.id;
  }
  return conv;
}

function persist(): void {
  if (!saveState(state)) setStatus("Could not save to localStorage (full or disabled); the chat is kept in this tab only.", true);
}

function setStatus(text: string, isError = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
}

// ---- rendering -------------------------------------------------------------------------

function statsText(m: StoredMessage): string {
  const parts: string[] = [];
  if (m.tokens !== undefined) parts.push(`${m.tokens} tokens`);
  if (typeof m.tokensPerSecond === "number") parts.push(`${m.tokensPerSecond.toFixed(1)} tokens/s`);
  if (m.stopped) parts.push("stopped");
  return parts.join(" · ");
}

function messageElement(m: StoredMessage): { article: HTMLElement; body: HTMLElement } {
  const article = document.createElement("article");
  article.className = `msg ${m.role}`;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = m.role === "user" ? "You" : "Assistant";
  const body = document.createElement("div");
  body.className = "body";
  if (m.role === "user") body.textContent = m.content;
  else renderMarkdownInto(body, m.content);
  article.append(who, body);
  if (m.role === "assistant") {
    const meta = document.createElement("div");
    meta.className = "meta";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "copy";
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", "Copy reply");
    copy.addEventListener("click", () => void copyText(m.content, copy));
    const stats = document.createElement("span");
    stats.className = "stats";
    stats.textContent = statsText(m);
    meta.append(copy, stats);
    if (m.error) {
      const err = document.createElement("span");
      err.className = "error";
      err.textContent = m.error;
      meta.append(err);
    }
    article.append(meta);
  }
  return { article, body };
}

function nearBottom(): boolean {
  const el = ui.messages;
  return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
}

function scrollToBottom(): void {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function renderMessages(): void {
  const conv = current();
  const nodes = conv.messages.map((m) => {
    const { article, body } = messageElement(m);
    if (streaming && m === streaming.reply) {
      article.classList.add("streaming");
      streaming.body = body;
    }
    return article;
  });
  ui.messages.replaceChildren(...nodes);
  scrollToBottom();
}

function renderConversationList(): void {
  const options = state.conversations.map((c) => {
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = c.title;
    return o;
  });
  ui.conversation.replaceChildren(...options);
  ui.conversation.value = state.currentId;
}

function updateControls(): void {
  const busy = streaming !== null;
  ui.send.textContent = busy ? "Stop" : "Send";
  ui.send.classList.toggle("stop", busy);
  ui.send.setAttribute("aria-label", busy ? "Stop the reply" : "Send message");
  const msgs = current().messages;
  ui.regenerate.disabled = busy || !msgs.some((m) => m.role === "user");
  ui.clear.disabled = busy || msgs.length === 0;
  ui.newChat.disabled = busy;
  ui.conversation.disabled = busy;
  // Screen readers announce the log once the reply is complete, not at every token.
  ui.messages.setAttribute("aria-busy", String(busy));
}

function queueReplyRender(): void {
  const s = streaming;
  if (!s || s.renderQueued) return;
  s.renderQueued = true;
  requestAnimationFrame(() => {
    s.renderQueued = false;
    const follow = nearBottom();
    renderMarkdownInto(s.body, s.reply.content);
    if (follow) scrollToBottom();
  });
}

// ---- generation ------------------------------------------------------------------------

function requestMessages(conv: Conversation): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system = state.settings.systemPrompt.trim();
  if (system) out.push({ role: "system", content: system });
  for (const m of conv.messages) {
    if (m.role === "assistant" && m.error && !m.content) continue; // a failed reply says nothing
    out.push({ role: m.role, content: m.content });
  }
  return out;
}

async function generate(): Promise<void> {
  const conv = current();
  const messages = requestMessages(conv);
  const reply: StoredMessage = { role: "assistant", content: "" };
  conv.messages.push(reply);
  const controller = new AbortController();
  streaming = { controller, reply, body: ui.messages, renderQueued: false };
  renderMessages();
  updateControls();
  setStatus("Generating…");
  const body: Record<string, unknown> = {
    ...(model ? { model } : {}),
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...samplingFields(state.settings),
  };
  let deltas = 0; // content chunks so far: the token count of a reply that is stopped
  try {
    const stats = await streamChat(body, apiKey, controller.signal, {
      onDelta(text) {
        deltas++;
        reply.content += text;
        queueReplyRender();
      },
    });
    reply.tokens = stats.tokens;
    reply.tokensPerSecond = tokensPerSecond(stats);
    const speed = reply.tokensPerSecond === null ? "" : `, ${reply.tokensPerSecond.toFixed(1)} tokens/s`;
    const cut = stats.finishReason === "length" ? " (reached max new tokens)" : "";
    setStatus(`Last reply: ${stats.tokens} tokens${speed}${cut}`);
  } catch (err) {
    if (controller.signal.aborted) {
      reply.stopped = true;
      reply.tokens = deltas;
      setStatus("Stopped.");
    } else {
      reply.error = err instanceof Error ? err.message : String(err);
      setStatus(`Error: ${reply.error}`, true);
    }
  } finally {
    streaming = null;
    persist();
    renderMessages();
    updateControls();
  }
}

function send(): void {
  if (streaming) return;
  const text = ui.input.value;
  if (!text.trim()) return;
  const conv = current();
  conv.messages.push({ role: "user", content: text });
  if (conv.messages.length === 1) {
    conv.title = titleFrom(text);
    renderConversationList();
  }
  ui.input.value = "";
  persist();
  void generate();
}

function stop(): void {
  streaming?.controller.abort();
}

function regenerate(): void {
  if (streaming) return;
  const conv = current();
  while (conv.messages.length && conv.messages[conv.messages.length - 1].role === "assistant") conv.messages.pop();
  if (!conv.messages.length) return;
  void generate();
}

function clearHistory(): void {
  if (streaming) return;
  const conv = current();
  conv.messages = [];
  conv.title = "New chat";
  persist();
  renderConversationList();
  renderMessages();
  updateControls();
  setStatus("History cleared.");
  ui.input.focus();
}

function exportConversations(): void {
  const now = new Date();
  const blob = new Blob([exportJson(state, now)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `llamats-chat-${now.toISOString().slice(0, 19).replace(/[-:T]/g, "")}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- settings --------------------------------------------------------------------------

const sliderInputs = new Map<string, { input: HTMLInputElement; output: HTMLOutputElement }>();

function buildSliders(): void {
  for (const spec of sliders) {
    const wrap = document.createElement("div");
    wrap.className = "slider";
    const row = document.createElement("div");
    row.className = "row";
    const label = document.createElement("label");
    label.htmlFor = `slider-${spec.key}`;
    label.textContent = spec.label;
    const output = document.createElement("output");
    output.htmlFor.add(`slider-${spec.key}`);
    output.id = `value-${spec.key}`;
    row.append(label, output);
    const input = document.createElement("input");
    input.type = "range";
    input.id = `slider-${spec.key}`;
    input.min = String(spec.min);
    input.max = String(spec.max);
    input.step = String(spec.step);
    input.setAttribute("aria-describedby", output.id);
    input.addEventListener("input", () => {
      state.settings[spec.key] = snap(spec, Number(input.value));
      output.value = String(state.settings[spec.key]);
      persist();
    });
    wrap.append(row, input);
    ui.sliders.append(wrap);
    sliderInputs.set(spec.key, { input, output });
  }
}

function showSettings(): void {
  for (const spec of sliders) {
    const s = sliderInputs.get(spec.key);
    if (!s) continue;
    s.input.value = String(state.settings[spec.key]);
    s.output.value = String(state.settings[spec.key]);
  }
  ui.doSample.checked = state.settings.doSample;
  ui.systemPrompt.value = state.settings.systemPrompt;
  syncTemperatureEnabled();
}

/** Greedy decoding ignores temperature; say so by disabling its slider. */
function syncTemperatureEnabled(): void {
  const t = sliderInputs.get("temperature");
  if (t) t.input.disabled = !state.settings.doSample;
}

// ---- events ----------------------------------------------------------------------------

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  if (streaming) stop();
  else send();
});
ui.input.addEventListener("compositionstart", () => { composing = true; });
ui.input.addEventListener("compositionend", () => { composing = false; });
ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && streaming && !composing && !e.isComposing) {
    e.preventDefault();
    stop();
    return;
  }
  if (!isSendKey(e, composing)) return;
  e.preventDefault();
  // While a reply streams the box stays editable, but Enter does not queue a second request.
  if (!streaming) send();
});
ui.regenerate.addEventListener("click", regenerate);
ui.clear.addEventListener("click", clearHistory);
ui.newChat.addEventListener("click", () => {
  if (streaming) return;
  const conv = current();
  if (conv.messages.length > 0) {
    const fresh = newConversation();
    state.conversations.unshift(fresh);
    state.currentId = fresh.id;
    persist();
  }
  renderConversationList();
  renderMessages();
  updateControls();
  ui.input.focus();
});
ui.conversation.addEventListener("change", () => {
  if (streaming) return;
  state.currentId = ui.conversation.value;
  persist();
  renderMessages();
  updateControls();
});
ui.exportButton.addEventListener("click", exportConversations);
ui.systemPrompt.addEventListener("input", () => {
  state.settings.systemPrompt = ui.systemPrompt.value;
  persist();
});
ui.doSample.addEventListener("change", () => {
  state.settings.doSample = ui.doSample.checked;
  syncTemperatureEnabled();
  persist();
});
ui.resetSettings.addEventListener("click", () => {
  state.settings = defaultSettings();
  showSettings();
  persist();
});

// ---- start -----------------------------------------------------------------------------

buildSliders();
showSettings();
if (window.matchMedia("(max-width: 760px)").matches) ui.settingsBox.open = false;
renderConversationList();
renderMessages();
updateControls();
ui.input.focus();
function showModel(): void {
  void firstModelId(apiKey).then((id) => {
    model = id;
    ui.model.textContent = id ? `model: ${id}` : "";
  });
}
ui.apiKey.value = apiKey;
ui.apiKey.addEventListener("change", () => {
  apiKey = ui.apiKey.value.trim();
  try {
    sessionStorage.setItem(apiKeyStorage, apiKey);
  } catch {
    // storage disabled: the key lasts as long as the page
  }
  showModel();
});
showModel();
