// `llamats ceval --model M --data DIR [--split val|test] [--shots 0|5] [--with-prompt] [--cot]
//   [--constrained|--generate] [--temperature 0.2] [--subjects a,b] [--out DIR] [--n-times N]
//   [--do-save-csv] [--do-test] [--save-prompts FILE]`
// The seed's C-Eval harness (scripts/ceval, docs/EVALUATION.md): OUT/take{i}/submission.json
// and summary.json in the seed's shapes, a progress bar per subject on stderr, the summary's
// All line on stdout; rerunning with the same --out resumes. Logic: @llamats/engine ceval/.

import type { Command } from "commander";
import { Option } from "commander";
import { LlamatsError, writeFileAtomic } from "@llamats/tensor";
import { loadModel, runCevalTake, SUBJECT_MAPPING } from "@llamats/engine";
import { addModelOptions, loadOptionsFrom, parseFloatArg, parseIntArg, type ModelCliOptions } from "./model-options.js";
import { ProgressBar } from "../progress.js";
import { ExitStatus } from "../exit.js";

interface CevalCliOptions extends ModelCliOptions {
  data: string;
  split?: string;
  shots: string;
  withPrompt?: boolean;
  cot?: boolean;
  constrained?: boolean;
  generate?: boolean;
  temperature: string;
  subjects?: string;
  out: string;
  nTimes: string;
  doSaveCsv?: boolean;
  doTest?: boolean;
  savePrompts?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("ceval")
    .description("C-Eval with the Chinese-LLaMA-Alpaca harness (prompts, constrained answers, summary.json)")
    .requiredOption("--data <dir>", "C-Eval data: DIR/{val,dev,test}/{subject}_{split}.csv")
    .addOption(new Option("--split <split>", "questions from val or test (default: val; test with --do-test)").choices(["val", "test"]))
    .addOption(new Option("--shots <k>", "dev examples before each question (0 = zero-shot)").choices(["0", "5"]).default("5"))
    .option("--with-prompt", "wrap the question in the Alpaca training template")
    .option("--cot", "chain-of-thought prompts")
    .option("--constrained", "answer = argmax over A-D of the first-token scores (default)")
    .option("--generate", "free generation (20 tokens), then the seed's extraction rules")
    .option("--temperature <t>", "temperature of the processed scores / sampling", "0.2")
    .option("--subjects <list>", "comma-separated subject keys (default: every subject in DIR/val)")
    .option("--out <dir>", "output folder (take{i}/ inside; an existing one is resumed)", "ceval-output")
    .option("--n-times <n>", "takes", "1")
    .option("--do-save-csv", "write take{i}/{subject}_test.csv with model_output and correctness")
    .option("--do-test", "answers only (test split, no ground truth): expected answers are NA")
    .option("--save-prompts <file>", "write {subject: {row_idx: prompt}} as JSON (the exact strings before tokenisation)");
  addModelOptions(cmd);
  cmd.action(async (o: CevalCliOptions) => {
    if (o.constrained && o.generate) throw new LlamatsError("--constrained and --generate: choose one");
    const temperature = parseFloatArg("--temperature", o.temperature)!;
    if (!(temperature > 0)) throw new LlamatsError(`--temperature ${o.temperature}: want > 0 (the seed samples)`);
    const nTimes = parseIntArg("--n-times", o.nTimes, 1);
    const split = (o.split ?? (o.doTest ? "test" : "val")) as "val" | "test";
    const subjects = o.subjects?.split(",").map((s) => s.trim()).filter(Boolean);
    for (const s of subjects ?? []) if (!/^[a-z0-9_]+$/.test(s)) throw new LlamatsError(`--subjects: "${s}" is not a subject key`);
    const unknown = (subjects ?? []).filter((s) => !(s in SUBJECT_MAPPING));
    if (unknown.length) process.stderr.write(`ceval: not in the 52-subject mapping (scored, not grouped): ${unknown.join(", ")}\n`);
    const model = await loadModel(o.model, loadOptionsFrom(o));
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once("SIGINT", onSignal);
    try {
      const prompts: Record<string, Record<string, string>> | undefined = o.savePrompts ? {} : undefined;
      for (let take = 0; take < nTimes; take++) {
        let bar: ProgressBar | undefined;
        const r = await runCevalTake(model, {
          dataDir: o.data,
          outDir: o.out,
          subjects,
          take,
          split,
          shots: Number(o.shots),
          withPrompt: o.withPrompt === true,
          cot: o.cot === true,
          mode: o.generate ? "generate" : "constrained",
          temperature,
          doTest: o.doTest === true,
          saveCsv: o.doSaveCsv === true,
          prompts,
          signal: abort.signal,
          onSubjectStart: (subject, i, n, questions, resumed) => {
            bar?.done();
            bar = undefined;
            if (resumed) process.stderr.write(`take${take} [${i + 1}/${n}] ${subject}: ${questions} questions, resumed from ${o.out}\n`);
            else bar = new ProgressBar(`take${take} [${i + 1}/${n}] ${subject}`);
          },
          onQuestion: (_s, done, total) => bar?.update({ done, total, unit: "questions" }),
        });
        bar?.done();
        const all = r.summary.All;
        process.stdout.write(`take${take}: All ${all.score === null ? "-" : all.score.toFixed(4)} (${all.correct.toFixed(0)}/${all.num}) -> ${r.dir}\n`);
      }
      if (o.savePrompts && prompts) {
        writeFileAtomic(o.savePrompts, JSON.stringify(prompts, null, 2) + "\n");
      }
    } catch (err) {
      if (abort.signal.aborted) {
        process.stderr.write(`\nceval: interrupted; rerun with the same --out to resume\n`);
        throw new ExitStatus(130);
      }
      throw err;
    } finally {
      process.off("SIGINT", onSignal);
      model.dispose();
    }
  });
}
