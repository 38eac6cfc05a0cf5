// `llamats vocab-train --input FILE[,FILE] --vocab-size N --model-type bpe|unigram ... -o PREFIX`:
// train a SentencePiece model as spm_train 0.1.97 does (same option names and defaults,
// same bytes for the same options: the model records --input and -o as given, the way
// spm_train records --input and --model_prefix). Writes PREFIX.model and PREFIX.vocab
// (each to a temporary file, then renamed); progress and a summary on stderr; the model's
// sha256 on stdout.

import type { Command } from "commander";
import { createHash } from "node:crypto";
import { LlamatsError, writeFileAtomic } from "@llamats/tensor";
import { splitAsCsv, trainSentencePiece, TRAIN_DEFAULTS, vocabText, writeModelProto, type TrainStage } from "@llamats/tokenizer";
import { ProgressBar } from "../progress.js";

interface Opts {
  input: string;
  vocabSize: string;
  modelType: string;
  characterCoverage: string;
  maxSentenceLength: string;
  inputSentenceSize: string;
  seed: string;
  byteFallback: boolean;
  splitDigits: boolean;
  userDefinedSymbols?: string;
  normalization: string;
  output: string;
}

function int(flag: string, v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new LlamatsError(`${flag} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

function num(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) throw new LlamatsError(`${flag} must be a number, got "${v}"`);
  return x;
}

export function register(program: Command): void {
  const d = TRAIN_DEFAULTS;
  program
    .command("vocab-train")
    .description("train a SentencePiece vocabulary (BPE or unigram) as spm_train 0.1.97 does")
    .requiredOption("--input <FILE[,FILE]>", "comma-separated corpus files, one sentence per line")
    .option("--vocab-size <N>", "vocabulary size", String(d.vocabSize))
    .option("--model-type <TYPE>", "bpe or unigram", d.modelType)
    .option("--character-coverage <F>", "share of the corpus characters the alphabet must cover", String(d.characterCoverage))
    .option("--max-sentence-length <N>", "skip lines longer than N bytes", String(d.maxSentenceLength))
    .option("--input-sentence-size <N>", "train on a random sample of N sentences (0: all)", String(d.inputSentenceSize))
    .option("--seed <S>", "seed of that sample (spm_train always uses 12345678)", String(d.seed))
    .option("--byte-fallback", "add the 256 byte pieces <0x00>..<0xFF>", false)
    .option("--split-digits", "split digits into separate pieces", false)
    .option("--user-defined-symbols <a,b>", "comma-separated symbols that are always one piece")
    .option("--normalization <NAME>", "nmt_nfkc or identity", d.normalization)
    .requiredOption("-o, --output <PREFIX>", "write PREFIX.model and PREFIX.vocab")
    .action((o: Opts) => {
      if (o.modelType !== "bpe" && o.modelType !== "unigram") throw new LlamatsError(`--model-type must be bpe or unigram, got "${o.modelType}"`);
      if (o.normalization !== "nmt_nfkc" && o.normalization !== "identity") {
        throw new LlamatsError(`--normalization must be nmt_nfkc or identity, got "${o.normalization}"`);
      }
      const inputs = splitAsCsv(o.input);
      const bars = new Map<TrainStage, ProgressBar>();
      const t0 = Date.now();
      const { model, stats } = trainSentencePiece(
        {
          inputs,
          modelPrefix: o.output,
          modelType: o.modelType,
          vocabSize: int("--vocab-size", o.vocabSize),
          characterCoverage: num("--character-coverage", o.characterCoverage),
          maxSentenceLength: int("--max-sentence-length", o.maxSentenceLength),
          inputSentenceSize: int("--input-sentence-size", o.inputSentenceSize),
          seed: int("--seed", o.seed),
          byteFallback: o.byteFallback,
          splitDigits: o.splitDigits,
          userDefinedSymbols: o.userDefinedSymbols ? splitAsCsv(o.userDefinedSymbols) : [],
          normalization: o.normalization,
        },
        (stage, done, total) => {
          let bar = bars.get(stage);
          if (!bar) {
            for (const b of bars.values()) b.done();
            bar = new ProgressBar(`vocab-train: ${stage === "read" ? "reading" : o.modelType}`);
            bars.set(stage, bar);
          }
          bar.update({ done, total, unit: stage === "read" ? "bytes" : "pieces" });
        },
      );
      for (const b of bars.values()) b.done();
      const bytes = writeModelProto(`${o.output}.model`, model);
      writeFileAtomic(`${o.output}.vocab`, vocabText(model));
      process.stderr.write(
        `vocab-train: ${stats.linesKept} sentences (${stats.linesLoaded} read, ${stats.tooLong} too long), ${stats.words} words, ` +
          `${stats.requiredChars} characters (coverage ${stats.characterCoverage.toFixed(6)}), ${model.pieces.length} pieces, ` +
          `${((Date.now() - t0) / 1000).toFixed(1)}s -> ${o.output}.model\n`,
      );
      process.stdout.write(`${createHash("sha256").update(bytes).digest("hex")}  ${o.output}.model\n`);
    });
}
