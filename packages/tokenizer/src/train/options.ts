// The training options vocab-train exposes, with spm_train 0.1.97's defaults, and the
// TrainerSpec / NormalizerSpec bytes spm_train writes into the model: spm_train sets every
// TrainerSpec field from its flags, so every field is present, in field-number order.

import { LlamatsError } from "@llamats/tensor";
import { ProtoWriter } from "../proto/wire.js";
import { DEFAULT_TRAINER_SPEC, ModelType } from "../proto/specs.js";

export interface TrainOptions {
  /** Corpus files, read in order. */
  readonly inputs: readonly string[];
  /** The strings recorded as trainer_spec.input (default: `inputs`). */
  readonly recordedInputs?: readonly string[];
  /** Recorded as trainer_spec.model_prefix. */
  readonly modelPrefix: string;
  readonly modelType: "bpe" | "unigram";
  readonly vocabSize: number;
  readonly characterCoverage: number;
  readonly maxSentenceLength: number;
  /** 0: every sentence; else a reservoir sample of this many. */
  readonly inputSentenceSize: number;
  /** Seed of the sampler; spm_train always uses 12345678. */
  readonly seed: number;
  readonly byteFallback: boolean;
  readonly splitDigits: boolean;
  readonly userDefinedSymbols: readonly string[];
  readonly normalization: "nmt_nfkc" | "identity";
}

export const SPM_SAMPLER_SEED = 12345678;

export const TRAIN_DEFAULTS = {
  modelType: "unigram",
  vocabSize: 8000,
  characterCoverage: 0.9995,
  maxSentenceLength: 4192,
  inputSentenceSize: 0,
  seed: SPM_SAMPLER_SEED,
  byteFallback: false,
  splitDigits: false,
  userDefinedSymbols: [],
  normalization: "nmt_nfkc",
} as const;

// The special pieces, their ids and the whitespace rules are the TrainerSpec defaults.
const { treatWhitespaceAsSuffix, allowWhitespaceOnlyPieces, unkId, bosId, eosId, padId, unkPiece, bosPiece, eosPiece, padPiece, unkSurface } =
  DEFAULT_TRAINER_SPEC;

// Fixed by spm_train's defaults (not exposed as options).
export const FIXED = Object.freeze({
  seedSentencepieceSize: 1000000,
  shrinkingFactor: 0.75,
  numThreads: 16,
  numSubIterations: 2,
  maxSentencepieceLength: 16,
  splitByUnicodeScript: true,
  splitByWhitespace: true,
  splitByNumber: true,
  treatWhitespaceAsSuffix,
  allowWhitespaceOnlyPieces,
  unkId,
  bosId,
  eosId,
  padId,
  unkPiece,
  bosPiece,
  eosPiece,
  padPiece,
  unkSurface,
});

/** VerifySpec (trainer_interface.cc): the ranges spm_train accepts. */
export function checkOptions(o: TrainOptions): void {
  const bad = (msg: string): never => {
    throw new LlamatsError(`vocab-train: ${msg}`);
  };
  if (o.inputs.length === 0) bad("--input names no file");
  if (!Number.isInteger(o.vocabSize) || o.vocabSize <= 0) bad(`--vocab-size must be a positive integer (got ${o.vocabSize})`);
  const cov = Math.fround(o.characterCoverage);
  if (!(cov >= Math.fround(0.98) && cov <= 1)) bad(`--character-coverage must be in [0.98, 1] (got ${o.characterCoverage})`);
  if (!Number.isInteger(o.maxSentenceLength) || o.maxSentenceLength < 10 || o.maxSentenceLength > 1073741824) {
    bad(`--max-sentence-length must be in [10, 1073741824] (got ${o.maxSentenceLength})`);
  }
  if (!Number.isInteger(o.inputSentenceSize) || o.inputSentenceSize < 0) bad(`--input-sentence-size must be >= 0 (got ${o.inputSentenceSize})`);
  if (o.inputSentenceSize > 0 && o.inputSentenceSize <= 100) bad(`--input-sentence-size must be 0 or above 100 (got ${o.inputSentenceSize})`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) bad(`--seed must be a 32-bit unsigned integer (got ${o.seed})`);
  const seen = new Set<string>();
  for (const u of o.userDefinedSymbols) {
    if (u === "") bad("--user-defined-symbols has an empty symbol");
    if (seen.has(u) || u === FIXED.unkPiece) bad(`--user-defined-symbols: ${u} is already defined`);
    seen.add(u);
  }
}

/** trainer_spec as spm_train writes it. */
export function encodeTrainingSpec(o: TrainOptions): Uint8Array {
  const w = new ProtoWriter();
  for (const f of o.recordedInputs ?? o.inputs) w.string(1, f);
  w.string(2, o.modelPrefix);
  w.varintField(3, o.modelType === "bpe" ? ModelType.BPE : ModelType.UNIGRAM);
  w.varintField(4, o.vocabSize);
  w.varintField(6, 0); // self_test_sample_size
  w.string(7, ""); // input_format
  w.float32(10, o.characterCoverage);
  w.varintField(11, o.inputSentenceSize);
  w.varintField(14, FIXED.seedSentencepieceSize);
  w.float32(15, FIXED.shrinkingFactor);
  w.varintField(16, FIXED.numThreads);
  w.varintField(17, FIXED.numSubIterations);
  w.varintField(18, o.maxSentenceLength);
  w.varintField(19, 1); // shuffle_input_sentence
  w.varintField(20, FIXED.maxSentencepieceLength);
  w.varintField(21, 1); // split_by_unicode_script
  w.varintField(22, 1); // split_by_whitespace
  w.varintField(23, 1); // split_by_number
  w.varintField(24, 0); // treat_whitespace_as_suffix
  w.varintField(25, o.splitDigits ? 1 : 0);
  w.varintField(26, 0); // allow_whitespace_only_pieces
  for (const u of o.userDefinedSymbols) w.string(31, u);
  w.varintField(32, 1); // vocabulary_output_piece_score
  w.varintField(33, 1); // hard_vocab_limit
  w.varintField(34, 0); // use_all_vocab
  w.varintField(35, o.byteFallback ? 1 : 0);
  w.string(36, ""); // required_chars
  w.varintField(40, FIXED.unkId);
  w.varintField(41, FIXED.bosId);
  w.varintField(42, FIXED.eosId);
  w.varintField(43, FIXED.padId);
  w.string(44, FIXED.unkSurface);
  w.string(45, FIXED.unkPiece);
  w.string(46, FIXED.bosPiece);
  w.string(47, FIXED.eosPiece);
  w.string(48, FIXED.padPiece);
  w.varintField(49, 0); // train_extremely_large_corpus
  w.varintField(50, 0); // enable_differential_privacy
  w.float32(51, 0); // differential_privacy_noise_level
  w.varintField(52, 0); // differential_privacy_clipping_threshold
  return w.finish();
}

/** normalizer_spec as spm_train writes it (the map is empty for `identity`, but present). */
export function encodeTrainingNormalizerSpec(name: string, charsmap: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, name);
  w.lenDelimited(2, charsmap);
  w.varintField(3, 1); // add_dummy_prefix
  w.varintField(4, 1); // remove_extra_whitespaces
  w.string(6, ""); // normalization_rule_tsv
  return w.finish();
}

/**
 * util::StrSplitAsCSV, which spm_train applies to --input and --user_defined_symbols:
 * split at commas; a field that starts with '"' runs to the closing quote ('""' is a quote).
 */
export function splitAsCsv(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (text[i] === '"') {
      i++;
      let field = "";
      for (; i < n; i++) {
        if (text[i] === '"') {
          i++;
          if (text[i] !== '"') break;
        }
        field += text[i];
      }
      const comma = text.indexOf(",", i);
      i = comma === -1 ? n : comma;
      out.push(field);
    } else {
      const comma = text.indexOf(",", i);
      const end = comma === -1 ? n : comma;
      out.push(text.slice(i, end));
      i = end;
    }
    i++; // past the comma
  }
  return out;
}
