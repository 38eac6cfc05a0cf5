// The seed's LangChain prompts written out from langchain_qa.py / langchain_sum.py's string
// pieces (independently of @llamats/langchain's constants), and a LangChain callback handler
// that records what the LLM received and answered and what the retriever returned.
import type { Document } from "@langchain/core/documents";
import type { LLMResult } from "@langchain/core/outputs";

// The seed's templates, piece by piece as its Python sources concatenate them.
export const seed = {
  stuff: (context: string, question: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" + context + "\n" + question + "\n\n### Response: ",
  initial: (context_str: string, question: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "以下为背景知识：\n" + context_str + "\n" + "请根据以上背景知识, 回答这个问题：" + question + "。\n\n" + "### Response: ",
  refine: (question: string, existing_answer: string, context_str: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "这是原始问题: " + question + "\n" + "已有的回答: " + existing_answer + "\n" + "现在还有一些文字，（如果有需要）你可以根据它们完善现有的回答。" +
    "\n\n" + context_str + "\n" + "\\nn" + "请根据新的文段，进一步完善你的回答。\n\n" + "### Response: ",
  sum: (text: string) =>
    "Below is an instruction that describes a task. " + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n请为以下文字写一段摘要:\n" + text + "\n\n### Response: ",
  sumRefine: (existing_answer: string, text: string) =>
    "Below is an instruction that describes a task." + "Write a response that appropriately completes the request.\n\n" + "### Instruction:\n" +
    "已有一段摘要：" + existing_answer + "\n" + "现在还有一些文字，（如果有需要）你可以根据它们完善现有的摘要。" + "\n" + text + "\n" + "\n" +
    "如果这段文字没有用，返回原来的摘要即可。请你生成一个最终的摘要。" + "\n\n### Response: ",
};

/** What the LLM received and answered, and what the retriever returned, during one chain run. */
export function recorder() {
  const rec = { prompts: [] as string[], outputs: [] as string[], retrieved: [] as Document[] };
  const handler = {
    handleLLMStart: (_llm: unknown, prompts: string[]) => void rec.prompts.push(...prompts),
    handleLLMEnd: (out: LLMResult) => void rec.outputs.push(out.generations[0][0].text),
    handleRetrieverEnd: (docs: Document[]) => void rec.retrieved.push(...docs),
  };
  return { rec, handler };
}

