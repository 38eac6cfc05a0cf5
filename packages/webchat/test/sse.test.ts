import { expect } from "chai";
import fc from "fast-check";
import { SseParser, decodeChatChunk } from "../src/page/sse.js";

const chunk = (content: string): string => JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });

describe("webchat SSE parsing", () => {
  it("splits events, joins multi-line data, ignores comments and other fields", () => {
    const p = new SseParser();
    const bytes = new TextEncoder().encode(": keep-alive\n\ndata: a\r\ndata:b\r\n\r\nevent: x\nid: 1\ndata: [DONE]\n\n");
    expect(p.push(bytes)).to.deep.equal(["a\nb", "[DONE]"]);
    expect(p.end()).to.deep.equal([]);
  });

  it("a last event without its blank line still counts at the end", () => {
    const p = new SseParser();
    expect(p.push(new TextEncoder().encode("data: x"))).to.deep.equal([]);
    expect(p.end()).to.deep.equal(["x"]);
  });

  it("property: any split of the byte stream (inside UTF-8 characters, inside \\r\\n) gives the same events", () => {
    const pieces = ["你好", "，世界", "🙂", "a\nb", " "];
    fc.assert(fc.property(
      fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 8 }),
      fc.constantFrom("\n", "\r\n", "\r"),
      fc.array(fc.nat(), { maxLength: 10 }),
      (contents, eol, cuts) => {
        const text = contents.map((c) => `data: ${chunk(c)}${eol}${eol}`).join("") + `data: [DONE]${eol}${eol}`;
        const bytes = new TextEncoder().encode(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const p = new SseParser();
        const out: string[] = [];
        let from = 0;
        for (const at of [...points, bytes.length]) {
          out.push(...p.push(bytes.subarray(from, at)));
          from = at;
        }
        out.push(...p.end());
        const decoded = out.map(decodeChatChunk);
        expect(decoded.pop()).to.equal(null);
        expect(decoded.map((d) => d?.content)).to.deep.equal(contents);
      },
    ), { numRuns: 300 });
  });

  it("decodes finish reasons, usage and error events", () => {
    expect(decodeChatChunk(JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "length" }] })))
      .to.deep.equal({ content: "", finishReason: "length", completionTokens: null, error: null });
    expect(decodeChatChunk(JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 17 } })))
      .to.deep.equal({ content: "", finishReason: null, completionTokens: 17, error: null });
    expect(decodeChatChunk(JSON.stringify({ error: { message: "model overloaded" } }))?.error).to.equal("model overloaded");
    expect(decodeChatChunk("{not json")?.error).to.match(/malformed event/);
  });
});
