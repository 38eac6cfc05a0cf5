// The seed's output files (scripts/ceval/eval.py):
//   submission.json  {subject: {row_idx: "A".."D" | "NA"}}          (json.dump indent=4)
//   summary.json     {subject: {score: percent, num, correct},      (json.dump indent=2)
//                     grouped: {STEM|Social Science|Humanities|Other: {correct, num, score: fraction}},
//                     All: {score: fraction, num, correct}}
// with correct = score * num / 100 (a float, as the seed computes it) and the grouped sums
// taken in subject_mapping.json order. Numbers the seed holds as Python floats are written
// as Python writes them ("7.0", not "7"), so the files equal the seed's byte for byte.
// Differences, on purpose: only the subjects that were run are grouped (the seed raises
// KeyError unless all 52 ran), and a group with no subject gets score null (the seed divides
// by zero).

import { CEVAL_GROUPS, SUBJECT_MAPPING, type CevalGroup } from "./subjects.js";
import { pyFloatRepr } from "./pandas-cells.js";

export interface SubjectScore {
  /** Percent: 100 * correct / num. */
  readonly score: number;
  readonly num: number;
  readonly correct: number;
}

export interface GroupScore {
  readonly correct: number;
  readonly num: number;
  /** Fraction (null for a group with no subject run). */
  readonly score: number | null;
}

export type CevalSummary = Record<string, SubjectScore> & {
  grouped: Record<CevalGroup, GroupScore>;
  All: { score: number | null; num: number; correct: number };
};

export type CevalSubmission = Record<string, Record<string, string>>;

/** A subject's entry from its correct count: the seed's correct_ratio and correct_ratio*num/100. */
export function subjectScore(correctNum: number, num: number): SubjectScore {
  const score = (100 * correctNum) / num;
  return { score, num, correct: (score * num) / 100 };
}

export function buildSummary(subjects: Readonly<Record<string, SubjectScore>>): CevalSummary {
  const grouped = Object.fromEntries(CEVAL_GROUPS.map((g) => [g, { correct: 0, num: 0, score: null as number | null }])) as Record<CevalGroup, { correct: number; num: number; score: number | null }>;
  for (const [subject, info] of Object.entries(SUBJECT_MAPPING)) {
    const s = subjects[subject];
    if (!s) continue;
    grouped[info[2]].num += s.num;
    grouped[info[2]].correct += s.correct;
  }
  let totalNum = 0;
  let totalCorrect = 0;
  for (const g of CEVAL_GROUPS) {
    const info = grouped[g];
    info.score = info.num > 0 ? info.correct / info.num : null;
    totalNum += info.num;
    totalCorrect += info.correct;
  }
  return { ...subjects, grouped, All: { score: totalNum > 0 ? totalCorrect / totalNum : null, num: totalNum, correct: totalCorrect } } as CevalSummary;
}

/** Keys whose values the seed holds as Python floats. */
const FLOAT_KEYS = new Set(["score", "correct"]);

/** json.dumps(value, ensure_ascii=False, indent) with the seed's float fields written as Python floats. */
export function pythonJson(value: unknown, indent: number): string {
  const pad = (d: number) => " ".repeat(indent * d);
  const enc = (v: unknown, d: number, key?: string): string => {
    if (v === null) return "null";
    if (typeof v === "number") return key !== undefined && FLOAT_KEYS.has(key) ? pyFloatRepr(v) : String(v);
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "boolean") return v ? "true" : "false";
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return `[\n${v.map((x) => pad(d + 1) + enc(x, d + 1)).join(",\n")}\n${pad(d)}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return "{}";
    return `{\n${entries.map(([k, x]) => `${pad(d + 1)}${JSON.stringify(k)}: ${enc(x, d + 1, k)}`).join(",\n")}\n${pad(d)}}`;
  };
  return enc(value, 0);
}
