// One C-Eval take over the chosen subjects, as the seed's eval.py main() runs it, with what
// the seed lacks: progress per question, and a resumable record per finished subject
// (OUT/take{i}/.partial/{subject}.json, checked against the run's settings), so an
// interrupted run continues where it stopped. Files are written to a temp name and renamed.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError, writeFileAtomic } from "@llamats/tensor";
import { Rng } from "../sampling/index.js";
import { csvField } from "./csv.js";
import { listSubjects, readSplit, type CevalSplit, type CevalTable } from "./data.js";
import { extractAnswer } from "./extract.js";
import { cevalPrompt, fewShotHistory } from "./prompt.js";
import { choiceIds, constrainedAnswer, processedScores, type ChoiceIds } from "./answer.js";
import { buildSummary, pythonJson, subjectScore, type CevalSubmission, type CevalSummary, type SubjectScore } from "./summary.js";

/** What C-Eval needs from a model: LlamaModel satisfies it. */
export interface CevalModel {
  readonly nCtx: number;
  tokenize(text: string, opts?: { bos?: boolean }): number[];
  detokenize(ids: ArrayLike<number>): string;
  forward(tokens: readonly number[], opts?: { pos?: number; logits?: "last" | "all" }): Float32Array;
  reset(): void;
  generateIds(promptIds: readonly number[], opts: { maxTokens: number; temperature: number; topK: number; topP: number; repeatPenalty: number; seed: number }): AsyncIterable<number>;
}

export interface CevalSettings {
  /** Which CSV the questions come from (test with --do-test). */
  readonly split: Exclude<CevalSplit, "dev">;
  /** 0 = zero-shot; k > 0: k dev examples after the header. */
  readonly shots: number;
  readonly withPrompt: boolean;
  readonly cot: boolean;
  readonly mode: "constrained" | "generate";
  readonly temperature: number;
  /** Answers only: the expected answers are "NA" (the seed's --do_test). */
  readonly doTest: boolean;
}

export interface CevalRunOptions extends CevalSettings {
  readonly dataDir: string;
  readonly outDir: string;
  /** Default: every subject DIR/val holds. */
  readonly subjects?: readonly string[];
  readonly take: number;
  readonly saveCsv: boolean;
  /** Collects {subject: {row_idx: prompt}} (the exact strings before tokenisation). */
  readonly prompts?: Record<string, Record<string, string>>;
  readonly onSubjectStart?: (subject: string, index: number, count: number, questions: number, resumed: boolean) => void;
  readonly onQuestion?: (subject: string, done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

interface SubjectRecord {
  readonly settings: CevalSettings;
  readonly subject: string;
  readonly answers: Record<string, string>;
  readonly responses: string[];
  readonly correctness: number[];
  readonly correctNum: number;
  readonly num: number;
}

export interface CevalTakeResult {
  readonly dir: string;
  readonly summary: CevalSummary;
  readonly submission: CevalSubmission;
  readonly resumedSubjects: readonly string[];
}

function sameSettings(a: CevalSettings, b: CevalSettings): boolean {
  const keys: (keyof CevalSettings)[] = ["split", "shots", "withPrompt", "cot", "mode", "temperature", "doTest"];
  return keys.every((k) => a[k] === b[k]);
}

/** A per-question seed for free generation and rule 5 (reproducible runs; takes differ). */
function questionSeed(take: number, subject: string, row: number): number {
  let h = 2166136261;
  for (const ch of `${take}/${subject}/${row}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

export async function evalSubject(model: CevalModel, ids: ChoiceIds, subject: string, table: CevalTable, history: string, o: CevalRunOptions): Promise<SubjectRecord> {
  const style = { cot: o.cot, withPrompt: o.withPrompt };
  if (!o.doTest && !table.columns.includes("answer")) {
    throw new LlamatsError(`${table.file}: no "answer" column to score against (C-Eval's test split has none: use --do-test for answers only)`);
  }
  const expected = table.rows.map((r) => (o.doTest ? "NA" : r.answer));
  const answers: Record<string, string> = {};
  const responses: string[] = [];
  const correctness: number[] = [];
  let correctNum = 0;
  // Ids whose keys/values the KV cache holds: consecutive prompts share the header, the
  // examples and the template, so only their tails are evaluated. The logits are bit for bit
  // those of a pass from position 0 (tested against `llamats logits`).
  let cached: number[] = [];
  for (let i = 0; i < table.rows.length; i++) {
    if (o.signal?.aborted) throw new LlamatsError("ceval: interrupted");
    const row = table.rows[i];
    const prompt = cevalPrompt(history, row, style);
    if (o.prompts) (o.prompts[subject] ??= {})[String(i)] = prompt;
    const promptIds = model.tokenize(prompt, { bos: true });
    const room = o.mode === "constrained" ? 0 : 20;
    if (promptIds.length + room > model.nCtx) {
      throw new LlamatsError(`${table.file}: row ${i}: the prompt has ${promptIds.length} tokens, the context ${model.nCtx} (use --ctx)`);
    }
    let answer: string;
    let response: string;
    if (o.mode === "constrained") {
      let p = 0;
      while (p < cached.length && p < promptIds.length - 1 && cached[p] === promptIds[p]) p++;
      if (p === 0) model.reset();
      const last = model.forward(promptIds.slice(p), { pos: p });
      cached = promptIds;
      const c = constrainedAnswer(processedScores(last, promptIds, o.temperature), ids);
      answer = c.answer;
      response = model.detokenize([c.topId]);
    } else {
      model.reset();
      cached = [];
      const seed = questionSeed(o.take, subject, i);
      const out: number[] = [];
      for await (const id of model.generateIds(promptIds, { maxTokens: 20, temperature: o.temperature, topK: 40, topP: 0.9, repeatPenalty: 1.1, seed })) out.push(id);
      response = model.detokenize(out);
      const rng = new Rng(seed ^ 0x5bd1e995);
      answer = extractAnswer(row, response, () => rng.nextFloat()).answer;
    }
    const correct = answer === expected[i] ? 1 : 0;
    correctNum += correct;
    answers[String(i)] = answer;
    responses.push(response);
    correctness.push(correct);
    o.onQuestion?.(subject, i + 1, table.rows.length);
    await new Promise((r) => setImmediate(r)); // Ctrl-C and progress output get through
  }
  return { settings: settingsOf(o), subject, answers, responses, correctness, correctNum, num: table.rows.length };
}

function settingsOf(o: CevalSettings): CevalSettings {
  return { split: o.split, shots: o.shots, withPrompt: o.withPrompt, cot: o.cot, mode: o.mode, temperature: o.temperature, doTest: o.doTest };
}

/** The seed's {subject}_test.csv: pandas' to_csv of the question table plus model_output and correctness. */
export function resultCsv(table: CevalTable, responses: readonly string[], correctness: readonly number[]): string {
  const lines = [["", ...table.columns, "model_output", "correctness"].map(csvField).join(",")];
  table.values.forEach((v, i) => {
    lines.push([String(i), ...v.map((x) => x ?? ""), responses[i], String(correctness[i])].map(csvField).join(","));
  });
  return lines.join("\n") + "\n";
}

export async function runCevalTake(model: CevalModel, o: CevalRunOptions): Promise<CevalTakeResult> {
  const subjects = o.subjects && o.subjects.length ? [...o.subjects] : listSubjects(o.dataDir);
  const dir = join(o.outDir, `take${o.take}`);
  const partial = join(dir, ".partial");
  const ids = choiceIds((t, bos) => model.tokenize(t, { bos }));
  const scores: Record<string, SubjectScore> = {};
  const submission: CevalSubmission = {};
  const resumed: string[] = [];
  for (let s = 0; s < subjects.length; s++) {
    const subject = subjects[s];
    const table = readSplit(o.dataDir, o.split, subject);
    const recordPath = join(partial, `${subject}.json`);
    let rec: SubjectRecord | undefined;
    if (existsSync(recordPath)) {
      const old = JSON.parse(readFileSync(recordPath, "utf8")) as SubjectRecord;
      if (!sameSettings(old.settings, o)) {
        throw new LlamatsError(`${recordPath}: a result of a run with other settings (${JSON.stringify(old.settings)}); use another --out`);
      }
      if (old.num === table.rows.length) rec = old;
    }
    const history = o.shots > 0 ? fewShotHistory(subject, readSplit(o.dataDir, "dev", subject).rows, o.shots, o.cot) : "";
    if (rec && o.prompts) {
      // The prompts of a resumed subject are rebuilt (they do not depend on the model).
      const style = { cot: o.cot, withPrompt: o.withPrompt };
      o.prompts[subject] = Object.fromEntries(table.rows.map((r, i) => [String(i), cevalPrompt(history, r, style)]));
    }
    o.onSubjectStart?.(subject, s, subjects.length, table.rows.length, rec !== undefined);
    if (rec) resumed.push(subject);
    else {
      rec = await evalSubject(model, ids, subject, table, history, o);
      writeFileAtomic(recordPath, JSON.stringify(rec));
    }
    if (o.saveCsv) writeFileAtomic(join(dir, `${subject}_test.csv`), resultCsv(table, rec.responses, rec.correctness));
    scores[subject] = subjectScore(rec.correctNum, rec.num);
    submission[subject] = rec.answers;
  }
  const summary = buildSummary(scores);
  writeFileAtomic(join(dir, "submission.json"), pythonJson(submission, 4));
  writeFileAtomic(join(dir, "summary.json"), pythonJson(summary, 2));
  return { dir, summary, submission, resumedSubjects: resumed };
}
