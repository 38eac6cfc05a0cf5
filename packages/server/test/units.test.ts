// Small pure parts: the seed's prompts and the key check.
import { expect } from "chai";
import fc from "fast-check";
import { chatPrompt } from "@llamats/engine";
import { ApiError, buildChatPrompt, keyMatches, normalizeMessages, seedCompletionPrompt } from "@llamats/server";

const PRE = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

describe("server: prompts and the key check", () => {
  it("chat alpaca: openai_server_demo's prompt (default system, turns, the last system message wins)", () => {
    const msgs = normalizeMessages([
      { role: "system", content: "A" },
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
      { role: "system", message: "B" },
      { role: "user", message: "q2" },
    ]);
    expect(buildChatPrompt(msgs)).to.equal("B\n\n### Instruction:\nq1\n\n### Response: a1\n\n### Instruction:\nq2\n\n### Response: ");
    expect(buildChatPrompt(normalizeMessages("hi"))).to.equal(`${PRE}\n\n### Instruction:\nhi\n\n### Response: `);
    expect(buildChatPrompt(normalizeMessages([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]))).to.contain("### Instruction:\nab\n\n");
  });

  it("chat gradio: the engine's gradio multi-turn prompt; raw: contents one per line", () => {
    const msgs = normalizeMessages([{ role: "user", content: "q1" }, { role: "assistant", content: "a1" }, { role: "user", content: "q2" }]);
    expect(buildChatPrompt(msgs, "gradio")).to.equal(chatPrompt([{ user: "q1", assistant: "a1" }, { user: "q2", assistant: "" }]));
    expect(buildChatPrompt(msgs, "raw")).to.equal("q1\na1\nq2\n");
  });

  it("completions wrapper: the seed's, with its 4-space line", () => {
    expect(seedCompletionPrompt("x")).to.equal(`${PRE}\n    \n### Instruction:\nx\n\n### Response: `);
  });

  it("a message with neither content nor message is a 400 naming the field", () => {
    expect(() => normalizeMessages([{ role: "user" }])).to.throw(ApiError, /messages\[0\]/);
  });

  it("keyMatches: only `Bearer <exact key>`", () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (key, other) => {
      const k = key.trim() || "k";
      expect(keyMatches(`Bearer ${k}`, k)).to.equal(true);
      expect(keyMatches(`bearer  ${k}`, k)).to.equal(true);
      expect(keyMatches(undefined, k)).to.equal(false);
      expect(keyMatches(k, k)).to.equal(false);
      if (other.trim() !== k) expect(keyMatches(`Bearer ${other}`, k)).to.equal(false);
    }));
  });
});
