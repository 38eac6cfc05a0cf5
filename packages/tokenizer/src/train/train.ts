// vocab-train's pipeline: read and normalise the corpus (corpus.ts), choose the required
// characters (chars.ts), train (bpe-trainer.ts / unigram-trainer.ts) and build the model as
// spm_train 0.1.97 writes it (model.ts, options.ts).

import { LlamatsError } from "@llamats/tensor";
import { PrecompiledCharsmap } from "../charsmap.js";
import type { ModelProto } from "../proto/model-proto.js";
import type { NormalizerFlags } from "../vocab.js";
import { trainBpe } from "./bpe-trainer.js";
import { trainUnigram } from "./unigram-trainer.js";
import { countChars, replaceRare, requiredChars } from "./chars.js";
import { compareCodePoints, type CountedChars, type TrainedPiece } from "./common.js";
import { loadCorpus } from "./corpus.js";
import { buildModel, metaPieces } from "./model.js";
import { nmtNfkcCharsmap } from "./nmt-nfkc.js";
import { checkOptions, encodeTrainingNormalizerSpec, encodeTrainingSpec, FIXED, type TrainOptions } from "./options.js";
import type { PieceRules } from "./piece-validity.js";

export type TrainStage = "read" | "train";

export interface TrainProgress {
  (stage: TrainStage, done: number, total: number): void;
}

export interface TrainResult {
  readonly model: ModelProto;
  readonly stats: {
    readonly linesLoaded: number;
    readonly linesKept: number;
    readonly tooLong: number;
    readonly words: number;
    readonly requiredChars: number;
    readonly characterCoverage: number;
  };
}

const FLAGS: NormalizerFlags = {
  addDummyPrefix: true,
  removeExtraWhitespaces: true,
  escapeWhitespaces: true,
  treatWhitespaceAsSuffix: false,
};

export function trainSentencePiece(o: TrainOptions, progress?: TrainProgress): TrainResult {
  checkOptions(o);
  const charsmapBytes = o.normalization === "nmt_nfkc" ? nmtNfkcCharsmap() : new Uint8Array(0);
  const charsmap = charsmapBytes.length ? new PrecompiledCharsmap(charsmapBytes, "nmt_nfkc") : null;
  const meta = metaPieces(o.userDefinedSymbols, o.byteFallback);
  // The unigram trainer takes its seed pieces from whole sentences, so it keeps them.
  const sentences: string[] = [];
  const corpus = loadCorpus({
    inputs: o.inputs,
    maxSentenceLength: o.maxSentenceLength,
    inputSentenceSize: o.inputSentenceSize,
    seed: o.seed,
    flags: FLAGS,
    charsmap,
    metaPieces: [...meta.values()].map((m) => m.piece),
    onProgress: progress ? (d, t) => progress("read", d, t) : undefined,
  }, o.modelType === "unigram" ? (line) => sentences.push(line) : undefined);
  if (corpus.linesKept === 0) throw new LlamatsError(`vocab-train: no sentences in ${o.inputs.join(",")}`);

  const counts = new Map<number, number>();
  let all = 0;
  for (const [w, n] of corpus.words) all += countChars(w, n, counts);
  const cov = requiredChars(counts, all, o.characterCoverage);
  if (cov.required.size + meta.size > o.vocabSize) {
    throw new LlamatsError(
      `vocab-train: vocabulary size is smaller than required_chars. ${o.vocabSize} vs ${cov.required.size + meta.size}. Increase --vocab-size or decrease --character-coverage`,
    );
  }
  if (!cov.required.has(0x2581)) throw new LlamatsError("vocab-train: ▁ is below the character coverage; this corpus is not supported");

  // Words after rare characters became ▅ (words that become equal are counted together),
  // in SentencePiece's order: count descending, then bytes ascending.
  const merged = new Map<string, number>();
  for (const [w, n] of corpus.words) {
    const r = replaceRare(w, cov.required);
    merged.set(r, (merged.get(r) ?? 0) + n);
  }
  const words: CountedChars[] = [];
  for (const [w, n] of merged) words.push({ chars: Array.from(w, (c) => c.codePointAt(0)!), count: n });
  words.sort((a, b) => b.count - a.count || compareCodePoints(a.chars, b.chars));

  const rules: PieceRules = {
    maxSentencepieceLength: FIXED.maxSentencepieceLength,
    splitByUnicodeScript: FIXED.splitByUnicodeScript,
    splitByNumber: FIXED.splitByNumber,
    splitByWhitespace: FIXED.splitByWhitespace,
    splitDigits: o.splitDigits,
    treatWhitespaceAsSuffix: FIXED.treatWhitespaceAsSuffix,
    allowWhitespaceOnlyPieces: FIXED.allowWhitespaceOnlyPieces,
  };
  let pieces: TrainedPiece[];
  if (o.modelType === "bpe") {
    pieces = trainBpe({
      sentences: words,
      requiredChars: cov.required,
      pieceBudget: o.vocabSize - meta.size,
      rules,
      onProgress: progress ? (d, t) => progress("train", d, t) : undefined,
    });
  } else {
    pieces = trainUnigram({
      sentences: sentences.map((line) => Array.from(replaceRare(line, cov.required), (c) => c.codePointAt(0)!)),
      words,
      requiredChars: cov.required,
      vocabSize: o.vocabSize,
      metaCount: meta.size,
      rules,
      onProgress: progress ? (d, t) => progress("train", d, t) : undefined,
    });
  }
  const model = buildModel(o.vocabSize, meta, pieces, encodeTrainingSpec(o), encodeTrainingNormalizerSpec(o.normalization, charsmapBytes));
  return {
    model,
    stats: {
      linesLoaded: corpus.linesLoaded,
      linesKept: corpus.linesKept,
      tooLong: corpus.tooLong,
      words: words.length,
      requiredChars: cov.required.size,
      characterCoverage: cov.covered / cov.allChars,
    },
  };
}
