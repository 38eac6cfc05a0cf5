// The seed's C-Eval prompts, byte for byte (scripts/ceval/llama_evaluator.py):
//   example   = question + "\nA. a\nB. b\nC. c\nD. d"
//   with answer (few-shot examples):  + "\n答案：X\n\n"
//               CoT:                  + "\n答案：让我们一步一步思考，\n{explanation}\n所以答案是X。\n\n"
//   question to answer, no template:  + "\n答案："            CoT: + "\n答案：让我们一步一步思考，\n1."
//                       template:     + "\n答案是什么？ "      CoT: + "\n答案是什么？让我们一步一步思考，\n1."
//   few-shot header: "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n" with the
//   English key (e.g. computer_network: the seed's quirk, kept) and the first k dev rows;
//   zero-shot: no header, no examples.
//   --with-prompt wraps header + examples + question in the training template
//   "Below is ... request.\n\n### Instruction:\n{instruction}\n\n### Response: ".

import { LlamatsError } from "@llamats/tensor";
import type { CevalRow } from "./data.js";

export const CHOICES = ["A", "B", "C", "D"] as const;
export type Choice = (typeof CHOICES)[number];

export const CEVAL_TEMPLATE =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response: ";

export interface PromptStyle {
  readonly cot: boolean;
  readonly withPrompt: boolean;
}

export function formatExample(row: CevalRow, includeAnswer: boolean, style: PromptStyle): string {
  let example = row.question;
  for (const c of CHOICES) example += `\n${c}. ${row[c]}`;
  if (includeAnswer) {
    if (style.cot) example += "\n答案：让我们一步一步思考，\n" + row.explanation + `\n所以答案是${row.answer}。\n\n`;
    else example += "\n答案：" + row.answer + "\n\n";
  } else if (!style.withPrompt) {
    example += style.cot ? "\n答案：让我们一步一步思考，\n1." : "\n答案：";
  } else {
    example += style.cot ? "\n答案是什么？让我们一步一步思考，\n1." : "\n答案是什么？ ";
  }
  return example;
}

/** Header and the first k dev rows (the seed's generate_few_shot_prompt; answers always in the non-template form). */
export function fewShotHistory(subject: string, dev: readonly CevalRow[], k: number, cot: boolean): string {
  if (k > dev.length) throw new LlamatsError(`C-Eval ${subject}: ${k} shots asked, the dev split has ${dev.length} rows`);
  if (cot && dev.slice(0, k).some((r) => r.explanation === undefined)) throw new LlamatsError(`C-Eval ${subject}: --cot needs an "explanation" column in the dev split`);
  let prompt = `以下是中国关于${subject}考试的单项选择题，请选出其中的正确答案。\n\n`;
  for (let i = 0; i < k; i++) prompt += formatExample(dev[i], true, { cot, withPrompt: false });
  return prompt;
}

/** The exact string that is tokenised (with BOS) for one question. */
export function cevalPrompt(history: string, row: CevalRow, style: PromptStyle): string {
  const instruction = history + formatExample(row, false, style);
  return style.withPrompt ? CEVAL_TEMPLATE.replace("{instruction}", () => instruction) : instruction;
}
