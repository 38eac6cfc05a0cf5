// The server the browser tests talk to: a real `llamats serve` (see llamats-serve.ts).

import { startLlamatsServe } from "./llamats-serve.js";

export interface ChatServer {
  url: string;
  /** Sequences the server counts as generating (llamats_sequences_active on /metrics). */
  activeSequences(): Promise<number>;
  close(): Promise<void>;
}

export async function startChatServer(): Promise<ChatServer> {
  const serve = await startLlamatsServe();
  return {
    url: serve.url,
    async activeSequences() {
      const text = await serve.metrics();
      const m = /^llamats_sequences_active (\d+)$/m.exec(text);
      if (!m) throw new Error(`no llamats_sequences_active in /metrics:\n${text}`);
      return Number(m[1]);
    },
    close: () => serve.close(),
  };
}
