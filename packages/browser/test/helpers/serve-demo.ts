// A real `llamats serve --browser-demo` on 127.0.0.1 (no model on the server), run from this
// checkout's TypeScript sources, for the Chromium tests.

import { cliFromSource as cliArgs, startServe } from "@llamats/testkit";

export const cliFromSource = cliArgs();

export interface DemoServer {
  /** http://127.0.0.1:PORT/browser/ */
  pageUrl: string;
  close(): Promise<void>;
}

export async function startBrowserDemo(): Promise<DemoServer> {
  const s = await startServe(["--browser-demo"]);
  return { pageUrl: `${s.base}/browser/`, close: () => s.close() };
}
