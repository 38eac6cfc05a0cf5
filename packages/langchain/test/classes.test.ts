// The LangChain.js classes over the in-process engine, on the synthetic tiny model:
// the LLM returns what the engine generates for the prompt, streaming yields the same text as
// a plain call, the chat model sends the model's chat template, and embeddings follow the
// server's definition (identical texts -> identical unit vectors).
import { expect } from "chai";
import { AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { chatPrompt, embedText, type LlamaModel } from "@llamats/engine";
import { ChatLlamats, LlamatsEmbeddings, LlamatsLLM, chatMessagesPrompt } from "@llamats/langchain";
import { cleanup, tinyModel } from "./helpers.js";

describe("@llamats/langchain classes (synthetic tiny model)", function () {
  let model: LlamaModel;
  before(async () => {
    model = await tinyModel();
  });
  after(() => {
    model.dispose();
    cleanup();
  });

  const prompt = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n为什么要减少污染，保护环境？\n\n### Response: ";

  it("LlamatsLLM: the continuation the engine generates for the prompt (greedy, penalty 1.1)", async () => {
    const llm = new LlamatsLLM({ model, maxTokens: 12 });
    const text = await llm.invoke(prompt);
    let direct = "";
    for await (const piece of model.generate(prompt, { temperature: 0, repeatPenalty: 1.1, maxTokens: 12 })) direct += piece;
    expect(text.length).to.be.greaterThan(0);
    expect(text).to.equal(direct);
  });

  it("LlamatsLLM: streaming yields the same text as a plain call, in several chunks; seeded sampling too", async () => {
    for (const fields of [{ maxTokens: 12 }, { maxTokens: 12, temperature: 0.8, seed: 7 }]) {
      const llm = new LlamatsLLM({ model, ...fields });
      const chunks: string[] = [];
      for await (const c of await llm.stream(prompt)) chunks.push(c);
      expect(chunks.length).to.be.greaterThan(1);
      expect(chunks.join("")).to.equal(await llm.invoke(prompt));
    }
  });

  it("LlamatsLLM: stop strings end the text before them", async () => {
    const llm = new LlamatsLLM({ model, maxTokens: 12 });
    const full = await llm.invoke(prompt);
    const cut = full.slice(2, 4);
    const stopped = await llm.invoke(prompt, { stop: [cut] });
    expect(stopped).to.equal(full.slice(0, full.indexOf(cut)));
  });

  it("ChatLlamats: the messages through the model's chat template (system text, turns)", () => {
    const messages = [new SystemMessage("你是一个助手。"), new HumanMessage("你好"), new AIMessage("你好！"), new HumanMessage("为什么天是蓝的？")];
    expect(chatMessagesPrompt(messages)).to.equal(
      chatPrompt([{ user: "你好", assistant: "你好！" }, { user: "为什么天是蓝的？", assistant: "" }], { systemPrompt: "你是一个助手。" }),
    );
    // the gradio demo's string (CHINESE-LLAMA-ALPACA.md §6), default system text
    expect(chatMessagesPrompt([new HumanMessage("hi")])).to.equal(
      "\nBelow is an instruction that describes a task. Write a response that appropriately completes the request.\n### Instruction:\nhi\n\n### Response: \n ",
    );
    expect(() => chatMessagesPrompt([new HumanMessage("hi"), new AIMessage("yo")])).to.throw(/last message must be a human/);
  });

  it("ChatLlamats: a reply, streamed or not, is the same text", async () => {
    const chat = new ChatLlamats({ model, maxTokens: 12 });
    const messages = [new HumanMessage("为什么天是蓝的？")];
    const reply = await chat.invoke(messages);
    expect(typeof reply.content).to.equal("string");
    expect((reply.content as string).length).to.be.greaterThan(0);
    let streamed = "";
    for await (const c of await chat.stream(messages)) streamed += c.content as string;
    expect(streamed).to.equal(reply.content);
  });

  it("LlamatsEmbeddings: identical texts give identical unit vectors; the engine's definition", async () => {
    const emb = new LlamatsEmbeddings({ model });
    const [a, b, c] = await emb.embedDocuments(["大熊猫吃竹子。", "大熊猫吃竹子。", "长江很长。"]);
    expect(a.length).to.equal(model.config.embeddingLength);
    expect(b).to.deep.equal(a);
    expect(c).to.not.deep.equal(a);
    expect(Math.hypot(...a)).to.be.closeTo(1, 1e-6);
    expect(await emb.embedQuery("大熊猫吃竹子。")).to.deep.equal(a);
    expect(a).to.deep.equal(Array.from(await embedText(model, "大熊猫吃竹子。")));
  });
});
