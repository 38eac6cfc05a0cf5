// The prompts of the seed's LangChain scripts, byte for byte (CHINESE-LLAMA-ALPACA.md §9):
// langchain_qa.py's stuff, initial and refine templates (the refine one keeps its literal
// backslash-n-n, "\\nn") and langchain_sum.py's summary and refine templates (the refine
// one's header lacks the space in "task.Write"). LangChain f-string variables in braces.

const HEADER = "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n";

/** langchain_qa.py, chain_type "stuff": variables context, question. */
export const QA_STUFF_TEMPLATE = HEADER + "### Instruction:\n{context}\n{question}\n\n### Response: ";

/** langchain_qa.py, chain_type "refine", first document: variables context_str, question. */
export const QA_INITIAL_TEMPLATE =
  HEADER + "### Instruction:\n以下为背景知识：\n{context_str}\n请根据以上背景知识, 回答这个问题：{question}。\n\n### Response: ";

/** langchain_qa.py, chain_type "refine", later documents: variables question, existing_answer, context_str. */
export const QA_REFINE_TEMPLATE =
  HEADER +
  "### Instruction:\n这是原始问题: {question}\n已有的回答: {existing_answer}\n现在还有一些文字，（如果有需要）你可以根据它们完善现有的回答。\n\n{context_str}\n\\nn请根据新的文段，进一步完善你的回答。\n\n### Response: ";

/** langchain_sum.py, stuff and refine's first chunk: variable text. */
export const SUM_TEMPLATE = HEADER + "### Instruction:\n请为以下文字写一段摘要:\n{text}\n\n### Response: ";

/** langchain_sum.py, refine's later chunks: variables existing_answer, text. Header without the space. */
export const SUM_REFINE_TEMPLATE =
  "Below is an instruction that describes a task.Write a response that appropriately completes the request.\n\n" +
  "### Instruction:\n已有一段摘要：{existing_answer}\n现在还有一些文字，（如果有需要）你可以根据它们完善现有的摘要。\n{text}\n\n如果这段文字没有用，返回原来的摘要即可。请你生成一个最终的摘要。\n\n### Response: ";
