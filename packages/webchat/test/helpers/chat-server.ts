// The server the browser tests talk to.

import { startFakeServer } from "./fake-openai.js";

export interface ChatServer {
  url: string;
  /** Sequences the server still counts as active (from /metrics). */
  activeSequences(): Promise<number>;
  close(): Promise<void>;
}

export async function startChatServer(): Promise<ChatServer> {
  const tokens = ["减少", "污染", "可以", "保护", "我们", "的", "健康", "和", "环境", "。"];
  const fake = await startFakeServer(tokens, 40);
  return {
    url: fake.url,
    async activeSequences() {
      const text = await (await fetch(`${fake.url}metrics`)).text();
      const m = /^llamats_active_sequences (\d+)/m.exec(text);
      if (!m) throw new Error(`no llamats_active_sequences in /metrics:\n${text}`);
      return Number(m[1]);
    },
    close: () => fake.close(),
  };
}
