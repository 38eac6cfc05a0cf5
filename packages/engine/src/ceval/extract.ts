// Free-generation answer extraction, the seed's extract_answer rules in their order:
//   1. the last match of 所以答案是(.+?)。 if it is a choice letter;
//   2. the first pattern (in this order) that matches: ([ABCD])是正确的, 选项([ABCD])正确,
//      答案为([ABCD]), 答案是([ABCD]), 答案([ABCD]), 选择([ABCD]), 答案：([ABCD]), 选择答案([ABCD]);
//   3. the first A-D anywhere;
//   4. the first option text (literal) that occurs, leftmost, earlier options first at a tie;
//   5. a random letter.
// Python's "." matches anything but "\n" (JavaScript's also stops at \r, \u2028, \u2029), so
// rule 1 uses [^\n].

import type { CevalRow } from "./data.js";
import { CHOICES, type Choice } from "./prompt.js";

const PATTERNS = [/([ABCD])是正确的/, /选项([ABCD])正确/, /答案为([ABCD])/, /答案是([ABCD])/, /答案([ABCD])/, /选择([ABCD])/, /答案：([ABCD])/, /选择答案([ABCD])/];

export interface Extracted {
  readonly answer: Choice;
  /** Rule that decided (1-5); the seed's "direct_extract" is rule 1. */
  readonly rule: 1 | 2 | 3 | 4 | 5;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\-/]/g, "\\$&");
}

export function extractAnswer(row: CevalRow, response: string, random: () => number): Extracted {
  const cot = [...response.matchAll(/所以答案是([^\n]+?)。/g)];
  if (cot.length > 0) {
    const last = cot[cot.length - 1][1];
    if ((CHOICES as readonly string[]).includes(last)) return { answer: last as Choice, rule: 1 };
  }
  for (const p of PATTERNS) {
    const m = p.exec(response);
    if (m) return { answer: m[1] as Choice, rule: 2 };
  }
  const letter = /[ABCD]/.exec(response);
  if (letter) return { answer: letter[0] as Choice, rule: 3 };
  // Python builds {text: letter} (a later option with the same text wins) and an alternation
  // in A..D order; findall's first match is the leftmost, the earliest alternative at a tie.
  const byText = new Map<string, Choice>();
  for (const c of CHOICES) byText.set(row[c], c);
  const alternation = new RegExp(CHOICES.map((c) => escapeRe(row[c])).join("|"));
  const m = alternation.exec(response);
  if (m && m[0] !== "") return { answer: byText.get(m[0])!, rule: 4 };
  if (m && m[0] === "" && byText.has("")) return { answer: byText.get("")!, rule: 4 };
  return { answer: CHOICES[Math.floor(random() * 4)], rule: 5 };
}
