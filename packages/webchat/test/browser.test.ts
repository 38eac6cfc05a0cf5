// End-to-end: the built page in headless Chromium against a real `llamats serve` on
// 127.0.0.1 (the synthetic tiny model: real architecture and tokenizer, random weights, so
// replies are noise that runs to max tokens). A few cases stub a reply through a route to
// show exact text (HTML in model output, errors). Every test leaves a screenshot in
// packages/webchat/test-output.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import type { Page, Request } from "playwright-core";
import { buildWebchat } from "../src/build.js";
import { describeBrowser, launchBrowser, screenshot, type Browser } from "./helpers/browser.js";
import { startChatServer, type ChatServer } from "./helpers/chat-server.js";

const question = "为什么要减少污染，保护环境？";

describeBrowser("webchat page in Chromium", function (this: Mocha.Suite) {
  this.timeout(180_000);
  let server: ChatServer;
  let browser: Browser;
  let page: Page;
  let bodies: Record<string, unknown>[];
  let authorizations: (string | undefined)[];

  before(async () => {
    await buildWebchat(); // the page under test is the one in this checkout
    server = await startChatServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(async () => {
    page = await browser.context.newPage();
    bodies = [];
    authorizations = [];
    page.on("request", (r: Request) => {
      if (r.method() !== "POST" || !r.url().endsWith("/v1/chat/completions")) return;
      bodies.push(r.postDataJSON() as Record<string, unknown>);
      authorizations.push(r.headers().authorization);
    });
    page.setDefaultTimeout(120_000); // two shared CPU cores: a short reply can take seconds
    await page.goto(server.url);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.waitForSelector("#slider-topK", { state: "attached" });
    // Random weights never say EOS: keep replies short unless a test needs a long one.
    await page.fill("#slider-maxTokens", "12");
  });
  afterEach(async function () {
    if (page) {
      await screenshot(page, this.currentTest?.title ?? "test");
      await page.close();
    }
  });

  const idle = (p: Page): Promise<unknown> =>
    p.waitForFunction(() => document.getElementById("send")?.textContent === "Send" && document.querySelector(".msg.assistant:not(.streaming)") !== null);
  /** The server frees a stopped sequence before its next decode step: poll /metrics briefly. */
  const noActiveSequence = async (): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      if ((await server.activeSequences()) === 0) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  const replies = (p: Page): Promise<string[]> => p.locator(".msg.assistant .body").allTextContents();
  const ask = async (p: Page, text: string): Promise<void> => {
    await p.fill("#input", text);
    await p.press("#input", "Enter");
  };

  it("streams the reply to a Chinese question in at least two steps", async () => {
    // Long enough to span many frames even where the tiny model is fast (CI has the CPU alone).
    await page.fill("#slider-maxTokens", "64");
    // Record every length the reply's text takes on screen while it streams.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => {
        const body = document.querySelector(".msg.assistant.streaming .body");
        const n = body?.textContent?.length ?? 0;
        if (n > 0 && seen[seen.length - 1] !== n) seen.push(n);
      }).observe(document.getElementById("messages")!, { childList: true, subtree: true, characterData: true });
    });
    await ask(page, question);
    await idle(page);
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen.length, `reply lengths seen: ${seen.join(",")}`).to.be.greaterThanOrEqual(2);
    const [reply] = await replies(page);
    expect(reply.length).to.be.greaterThan(0);
    expect(await page.locator(".msg.user .body").textContent()).to.equal(question);
    expect(bodies).to.have.length(1);
    const messages = bodies[0].messages as { role: string; content: string }[];
    expect(messages[messages.length - 1]).to.deep.equal({ role: "user", content: question });
    expect(bodies[0].stream).to.equal(true);
    expect(await page.locator("#status").textContent()).to.match(/^Last reply: \d+ tokens, [\d.]+ tokens\/s/);
    expect(await page.locator(".msg.assistant .stats").textContent()).to.match(/tokens\/s/);
  });

  it("Stop ends the stream mid-reply, keeps the input usable, and the server frees the slot", async () => {
    await page.fill("#slider-maxTokens", "4096");
    await ask(page, question);
    await page.waitForFunction(() => (document.querySelector(".msg.assistant.streaming .body")?.textContent?.length ?? 0) > 0);
    expect(await page.locator("#send").textContent()).to.equal("Stop");
    // The box stays editable while the reply streams, and Enter there does not send.
    await page.fill("#input", "下一个问题");
    await page.press("#input", "Enter");
    expect(await page.inputValue("#input")).to.equal("下一个问题");
    await page.click("#send");
    await idle(page);
    expect(await page.locator(".msg.assistant .stats").textContent()).to.match(/^[1-9]\d* tokens · stopped$/);
    expect(bodies).to.have.length(1);
    const partial = (await replies(page))[0];
    expect(partial.length).to.be.greaterThan(0);
    expect(await noActiveSequence()).to.equal(true);
    // Esc in the message box stops too.
    await page.click("#regenerate");
    await page.waitForFunction(() => (document.querySelector(".msg.assistant.streaming .body")?.textContent?.length ?? 0) > 0);
    await page.press("#input", "Escape");
    await idle(page);
    expect(await page.locator(".msg.assistant .stats").textContent()).to.contain("stopped");
    expect(await noActiveSequence()).to.equal(true);
  });

  it("Regenerate asks again with the same history and replaces the reply", async () => {
    await ask(page, question);
    await idle(page);
    // Keyboard only: Tab from the message box reaches Send, then Regenerate; Enter presses it.
    await page.focus("#input");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal("send");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal("regenerate");
    await page.keyboard.press("Enter");
    await idle(page);
    expect(bodies).to.have.length(2);
    expect(bodies[1].messages).to.deep.equal(bodies[0].messages);
    expect(await page.locator(".msg").count()).to.equal(2);
  });

  it("Clear history empties the conversation, also after a reload", async () => {
    await ask(page, question);
    await idle(page);
    expect(await page.locator(".msg").count()).to.equal(2);
    await page.click("#clear");
    expect(await page.locator(".msg").count()).to.equal(0);
    await page.reload();
    await page.waitForSelector("#slider-topK", { state: "attached" });
    expect(await page.locator(".msg").count()).to.equal(0);
  });

  it("slider and checkbox changes reach the request body", async () => {
    await page.fill("#slider-topK", "20");
    await page.fill("#slider-maxTokens", "8");
    // Keyboard: two steps of 0.1 up from the default 1.1.
    await page.focus("#slider-repetitionPenalty");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.fill("#system-prompt", "你是一个乐于助人的助手。");
    await ask(page, question);
    await idle(page);
    expect(bodies[0]).to.include({ top_k: 20, max_tokens: 8, repetition_penalty: 1.3, top_p: 0.9, temperature: 0.5 });
    expect((bodies[0].messages as unknown[])[0]).to.deep.equal({ role: "system", content: "你是一个乐于助人的助手。" });
    expect(authorizations[0]).to.equal(undefined);
    await page.uncheck("#do-sample");
    await page.fill("#api-key", "sk-webchat-test");
    await page.press("#api-key", "Tab");
    await page.click("#regenerate");
    await idle(page);
    expect(bodies[1]).to.include({ temperature: 0, top_k: 20 });
    expect(authorizations[1]).to.equal("Bearer sk-webchat-test");
    // The key is a secret: kept for this tab only, never in localStorage (or the export).
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.to.contain("sk-webchat-test");
  });

  it("the defaults are the seed's: ranges, steps and values of every slider", async () => {
    await page.evaluate(() => localStorage.clear()); // undo beforeEach's short max tokens
    await page.reload();
    await page.waitForSelector("#slider-topK", { state: "attached" });
    const got = await page.$$eval("#sliders input[type=range]", (els) =>
      (els as HTMLInputElement[]).map((e) => [e.id, e.min, e.max, e.step, e.value].join(" ")));
    expect(got).to.deep.equal([
      "slider-maxTokens 0 4096 1 512",
      "slider-topP 0 1 0.01 0.9",
      "slider-temperature 0 1 0.01 0.5",
      "slider-topK 1 40 1 40",
      "slider-repetitionPenalty 1 3 0.1 1.1",
    ]);
    expect(await page.isChecked("#do-sample")).to.equal(true);
    // Every form control has a label, every button a name.
    const unlabeled = await page.$$eval("input, select, textarea, button", (els) =>
      els.filter((e) => e instanceof HTMLButtonElement
        ? !(e.getAttribute("aria-label") || e.textContent?.trim())
        : !((e as HTMLInputElement).labels?.length)).map((e) => e.outerHTML));
    expect(unlabeled).to.deep.equal([]);
  });

  it("Enter during IME composition sends nothing; a plain Enter then sends", async () => {
    await page.fill("#input", "ni hao");
    await page.focus("#input");
    // A composing Enter as Chrome reports it (isComposing) and as Safari does (keyCode 229).
    const defaultPrevented = await page.evaluate(() => {
      const input = document.getElementById("input")!;
      const a = new KeyboardEvent("keydown", { key: "Enter", isComposing: true, bubbles: true, cancelable: true });
      const b = new KeyboardEvent("keydown", { key: "Enter", keyCode: 229, bubbles: true, cancelable: true } as KeyboardEventInit);
      input.dispatchEvent(a);
      input.dispatchEvent(b);
      return [a.defaultPrevented, b.defaultPrevented];
    });
    expect(defaultPrevented).to.deep.equal([false, false]);
    // A real composition driven through Chromium's IME API, confirmed with Enter.
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Input.imeSetComposition", { text: "你好", selectionStart: 2, selectionEnd: 2 });
    await page.keyboard.press("Enter");
    await page.waitForTimeout(300);
    expect(bodies).to.have.length(0);
    expect(await page.locator(".msg").count()).to.equal(0);
    await cdp.send("Input.insertText", { text: "" });
    await page.press("#input", "Enter");
    await idle(page);
    expect(bodies).to.have.length(1);
  });

  it("a reload keeps the history", async () => {
    await ask(page, question);
    await idle(page);
    const before = await page.locator(".msg .body").allTextContents();
    await page.reload();
    await page.waitForSelector(".msg.assistant");
    expect(await page.locator(".msg .body").allTextContents()).to.deep.equal(before);
    expect(await page.locator("#conversation option").first().textContent()).to.equal(question);
  });

  it("New chat keeps the old conversation; Export JSON downloads all of them", async () => {
    await ask(page, question);
    await idle(page);
    await page.click("#new-chat");
    expect(await page.locator(".msg").count()).to.equal(0);
    await ask(page, "第二个对话");
    await idle(page);
    expect(await page.locator("#conversation option").allTextContents()).to.deep.equal(["第二个对话", question]);
    // Back to the first one from the keyboard.
    await page.focus("#conversation");
    await page.selectOption("#conversation", { label: question });
    expect(await page.locator(".msg.user .body").textContent()).to.equal(question);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    expect(download.suggestedFilename()).to.match(/^llamats-chat-\d{8}\d{6}\.json$/);
    const path = await download.path();
    const exported = JSON.parse(readFileSync(path, "utf8")) as { format: string; conversations: { messages: { role: string; content: string }[] }[] };
    expect(exported.format).to.equal("llamats-webchat");
    expect(exported.conversations.map((c) => c.messages.map((m) => m.role))).to.deep.equal([["user", "assistant"], ["user", "assistant"]]);
    // The exported reply is the Markdown source; the page shows it rendered: same letters.
    const letters = (t: string): string => t.replace(/[^\p{L}]/gu, "");
    const shown = await replies(page);
    expect(letters(exported.conversations[1].messages[1].content)).to.equal(letters(shown[0]));
  });

  it("model output with HTML shows as text; code blocks render with a copy button", async () => {
    const evil = '<img src=x onerror="window.pwned=1"> **粗体** and <script>window.pwned=2</script>\n\n```html\n<img src=y onerror="window.pwned=3">\n```\n';
    const pieces = [evil.slice(0, 10), evil.slice(10, 37), evil.slice(37)];
    const sse = pieces.map((p) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`).join("") +
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`;
    await page.route("**/v1/chat/completions", (route) => route.fulfill({ status: 200, contentType: "text/event-stream", body: sse }));
    await ask(page, "show me html");
    await idle(page);
    expect(await page.locator("#messages img, #messages script").count()).to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined);
    const body = page.locator(".msg.assistant .body");
    expect(await body.locator("p").first().textContent()).to.equal('<img src=x onerror="window.pwned=1"> 粗体 and <script>window.pwned=2</script>');
    expect(await body.locator("strong").textContent()).to.equal("粗体");
    expect(await body.locator("pre code").textContent()).to.equal('<img src=y onerror="window.pwned=3">');
    expect(await body.locator(".codelang").textContent()).to.equal("html");
    expect(await body.locator("button.copy-code").count()).to.equal(1);
  });

  it("an HTTP error and a stream cut short are shown, and the next question still works", async () => {
    let call = 0;
    await page.route("**/v1/chat/completions", (route) => {
      call++;
      if (call === 1) {
        return route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify({ error: { message: "prompt is longer than the context (2048 tokens)", type: "invalid_request_error", param: "messages", code: null } }) });
      }
      return route.fulfill({ status: 200, contentType: "text/event-stream", body: `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "半句" }, finish_reason: null }] })}\n\n` });
    });
    await ask(page, question);
    await idle(page);
    expect(await page.locator("#status").textContent()).to.equal("Error: 400: prompt is longer than the context (2048 tokens)");
    await page.click("#regenerate");
    await idle(page);
    expect(await page.locator("#status").textContent()).to.equal("Error: the stream ended before the reply was complete");
    expect((await replies(page))[0]).to.equal("半句");
    await page.unroute("**/v1/chat/completions");
    await page.click("#regenerate");
    await idle(page);
    expect(await page.locator("#status").textContent()).to.match(/^Last reply: /);
    // The failed replies were replaced, not kept: the history is one question, one answer.
    expect(await page.locator(".msg").count()).to.equal(2);
  });

  it("is readable at phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.waitForSelector("#slider-topK", { state: "attached" });
    await ask(page, question);
    await idle(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).to.equal(0);
    expect(await page.locator("#settings-box").getAttribute("open")).to.equal(null);
    const box = await page.locator("#send").boundingBox();
    expect(box && box.x + box.width).to.be.lessThanOrEqual(390);
  });
});
