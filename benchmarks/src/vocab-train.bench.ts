// vocab-train's training time beside spm_train 0.1.97 (Debian `sentencepiece`) on the same
// corpus (text/zh_examples.txt) and options, BPE and unigram, in alternating rounds. llamats
// trains on one thread, so the reference is `spm_train --num_threads=1` (the ratio is
// llamats seconds over spm_train's); spm_train with its default 16 threads is timed too, and
// its model (the spec records num_threads, and the unigram trainer sums per thread) is
// compared with llamats' byte for byte.
// Run: node --conditions=source --import=tsx benchmarks/src/vocab-train.bench.ts [--rounds N]

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixturePath, haveFixtures } from "@llamats/testkit";
import { encodeModelProto, trainSentencePiece, TRAIN_DEFAULTS } from "@llamats/tokenizer";
import { round, runStandalone } from "./harness.js";

const TEXT = "text/zh_examples.txt";
const CASES = [
  { name: "bpe", modelType: "bpe", vocabSize: 4000 },
  { name: "unigram", modelType: "unigram", vocabSize: 6000 },
] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(args: string[]): Promise<unknown> {
  if (!haveFixtures(TEXT)) return { skipped: `fixture ${TEXT} not found` };
  const probe = spawnSync("spm_train", ["--version"], { encoding: "utf8" });
  const spmVersion = probe.error ? null : `${probe.stdout}${probe.stderr}`.trim();
  const ri = args.indexOf("--rounds");
  const rounds = ri >= 0 ? Number(args[ri + 1]) : 3;
  const work = mkdtempSync(join(tmpdir(), "bench-vocab-train-"));
  try {
    symlinkSync(fixturePath(TEXT), join(work, "corpus.txt"));
    const results: Record<string, unknown> = {};
    for (const c of CASES) {
      const prefix = `m_${c.name}`;
      const ours: number[] = [];
      const spm1: number[] = [];
      const spm16: number[] = [];
      let oursSha = "";
      let spmSha = "";
      const spm = (threads: number): number => {
        const t0 = performance.now();
        const r = spawnSync("spm_train", [`--input=corpus.txt`, `--model_prefix=${prefix}`, `--model_type=${c.modelType}`, `--vocab_size=${c.vocabSize}`,
          `--num_threads=${threads}`], { cwd: work, encoding: "utf8" });
        const s = (performance.now() - t0) / 1000;
        if (r.status !== 0) throw new Error(`spm_train failed: ${r.stderr.trim().split("\n").at(-1)}`);
        return s;
      };
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        const { model } = trainSentencePiece({ ...TRAIN_DEFAULTS, inputs: [join(work, "corpus.txt")], recordedInputs: ["corpus.txt"],
          modelPrefix: prefix, modelType: c.modelType, vocabSize: c.vocabSize });
        ours.push((performance.now() - t0) / 1000);
        oursSha = createHash("sha256").update(encodeModelProto(model)).digest("hex");
        process.stderr.write(`  ${c.name} llamats: ${round(ours[i])} s\n`);
        if (spmVersion !== null) {
          spm1.push(spm(1));
          spm16.push(spm(16));
          spmSha = createHash("sha256").update(readFileSync(join(work, `${prefix}.model`))).digest("hex");
          process.stderr.write(`  ${c.name} spm_train: ${round(spm1[i])} s (1 thread), ${round(spm16[i])} s (16 threads)\n`);
        }
      }
      results[c.name] = {
        vocabSize: c.vocabSize,
        llamatsSeconds: round(median(ours)),
        spmTrain1ThreadSeconds: spmVersion !== null ? round(median(spm1)) : null,
        spmTrain16ThreadsSeconds: spmVersion !== null ? round(median(spm16)) : null,
        ratioTo1Thread: spmVersion !== null ? round(median(ours) / median(spm1)) : null,
        identicalToSpmTrainDefault: spmVersion !== null ? oursSha === spmSha : null,
      };
    }
    return { corpus: TEXT, bytes: readFileSync(fixturePath(TEXT)).length, rounds, spmTrain: spmVersion ?? "not installed", ...results };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "vocab-train", run);
