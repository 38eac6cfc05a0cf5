import { expect } from "chai";
import { alpacaPrompt, chatPrompt, extractResponse, lastChars, applyTemplate } from "@llamats/engine";

describe("templates", () => {
  it("alpaca: inference_hf.py's exact string", () => {
    expect(alpacaPrompt("为什么要减少污染，保护环境？")).to.equal(
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n\n为什么要减少污染，保护环境？\n\n### Response:\n\n",
    );
  });
  it("alpaca: input appended after a newline", () => {
    expect(alpacaPrompt("Translate", "hello")).to.equal(
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n\nTranslate\nhello\n\n### Response:\n\n",
    );
  });
  it("raw is the identity; system prompt replaces the preamble", () => {
    expect(applyTemplate("raw", "abc")).to.equal("abc");
    expect(applyTemplate("alpaca", "q", { systemPrompt: "SYS" })).to.equal("SYS\n\n### Instruction:\n\nq\n\n### Response:\n\n");
  });
  it("extractResponse splits at the first ### Response: and strips", () => {
    expect(extractResponse("x ### Response:\n\n  答案 \n")).to.equal("答案");
    expect(extractResponse("no marker ")).to.equal("no marker");
  });
  it("chat: gradio_demo.py's multi-turn string, quirks included", () => {
    const p = chatPrompt([
      { user: "你好", assistant: "你好！" },
      { user: "再见", assistant: "" },
    ]);
    expect(p).to.equal(
      "\nBelow is an instruction that describes a task. Write a response that appropriately completes the request.\n" +
        "### Instruction:\n你好\n\n### Response: 你好！\n\n" +
        "### Instruction:\n再见\n\n### Response: " +
        "\n ",
    );
  });
  it("chat: keeps the last max_memory code points (cutting mid-turn, as the demo does)", () => {
    const p = chatPrompt([{ user: "一二三四五", assistant: "" }], { maxMemory: 20 });
    const hist = "### Instruction:\n一二三四五\n\n### Response: ";
    expect(p).to.equal("\nBelow is an instruction that describes a task. Write a response that appropriately completes the request.\n" + Array.from(hist).slice(-20).join("") + "\n ");
    expect(lastChars("a😀b", 2)).to.equal("😀b");
    expect(lastChars("abc", 0)).to.equal("abc"); // Python's s[-0:]
  });
  it("chat without quirks drops whole turns and formats cleanly", () => {
    const p = chatPrompt(
      [
        { user: "a".repeat(50), assistant: "b".repeat(50) },
        { user: "q", assistant: "" },
      ],
      { maxMemory: 60, quirks: false, systemPrompt: "S" },
    );
    expect(p).to.equal("S\n\n### Instruction:\nq\n\n### Response: ");
  });
});
