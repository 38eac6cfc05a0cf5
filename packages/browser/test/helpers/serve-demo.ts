// A real `llamats serve --browser-demo` on 127.0.0.1 (no model on the server), run from this
// checkout's TypeScript sources, for the Chromium tests.

import { cliFromSource as cliArgs, startServe } from "@llamats/testkit";

export const cliFromSource = cliArgs();

export interface DemoServer {
  /** http://127.0.0.1:PORT/browser/ */
  pageUrl: string;
  close(): Promise<void>;
}

/** `llamats serve --browser-demo`; with modelsDir, its .gguf files at /models/NAME (range requests). */
export async function startBrowserDemo(modelsDir?: string): Promise<DemoServer> {
  const s = await startServe(["--browser-demo", ...(modelsDir === undefined ? [] : ["--browser-models", modelsDir])]);
  return { pageUrl: `${s.base}/browser/`, close: () => s.close() };
}
