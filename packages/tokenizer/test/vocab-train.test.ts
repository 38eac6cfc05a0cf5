// vocab-train against spm_train 0.1.97: the golden models in fixtures/vocab-train were
// trained by the Debian spm_train (gen.sh); our .model must be the same bytes.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describeConformance, fixturePath, repoRoot } from "@llamats/testkit";
import { encodeModelProto } from "@llamats/tokenizer";
import { trainSentencePiece, TRAIN_DEFAULTS, vocabText, type TrainOptions } from "../src/train/index.js";
// @ts-expect-error plain JS generator shared with gen.sh
import { mixed, synth } from "../../../fixtures/vocab-train/corpus.mjs";

interface GoldenCase {
  name: string;
  /** "zh", "mixed", "synth", or several of them comma-separated (read in that order) */
  corpus: string;
  modelType: "bpe" | "unigram";
  vocabSize: number;
  characterCoverage?: number;
  maxSentenceLength?: number;
  inputSentenceSize?: number;
  byteFallback?: boolean;
  splitDigits?: boolean;
  userDefinedSymbols?: string[];
  normalization?: "nmt_nfkc" | "identity";
}

const dir = join(repoRoot(), "fixtures", "vocab-train");
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as GoldenCase[];
const goldens = JSON.parse(readFileSync(join(dir, "goldens.json"), "utf8")) as {
  cases: Record<string, { sha256: string; bytes: number }>;
};

export function optionsFor(c: GoldenCase, work: string): TrainOptions {
  const names = c.corpus.split(",").map((x) => `${x}.txt`);
  return {
    ...TRAIN_DEFAULTS,
    ...(c as Partial<TrainOptions>),
    inputs: names.map((x) => join(work, x)),
    recordedInputs: names,
    modelPrefix: c.name,
  };
}

function checkCase(c: GoldenCase, workDir: () => string): void {
  it(`${c.name}: the .model is spm_train's, byte for byte`, function () {
    this.timeout(120_000);
    const { model } = trainSentencePiece(optionsFor(c, workDir()));
    const bytes = encodeModelProto(model);
    const golden = goldens.cases[c.name];
    const sha = createHash("sha256").update(bytes).digest("hex");
    const vocabFile = join(dir, "goldens", `${c.name}.vocab.gz`);
    if (sha !== golden.sha256 && existsSync(vocabFile)) {
      // Say where the pieces part ways before failing on the hash.
      const vocab = gunzipSync(readFileSync(vocabFile)).toString("utf8").split("\n");
      const ours = model.pieces.map((p) => `${p.piece}\t${p.score}`);
      const at = ours.findIndex((line, i) => line !== vocab[i]);
      expect(ours[at], `first different piece, at id ${at}`).to.equal(vocab[at]);
      expect(bytes.length).to.equal(golden.bytes);
    }
    expect(sha).to.equal(golden.sha256);
    // the .vocab too (scores printed as iostream prints floats)
    if (existsSync(vocabFile)) expect(vocabText(model)).to.equal(gunzipSync(readFileSync(vocabFile)).toString("utf8"));
    if (c.normalization === "identity") {
      const whole = gunzipSync(readFileSync(join(dir, "goldens", `${c.name}.model.gz`)));
      expect(Buffer.from(bytes).equals(whole)).to.equal(true);
    }
  });
}

describe("vocab-train: BPE and unigram, byte-identical to spm_train 0.1.97 (generated corpus)", () => {
  let work = "";
  before(() => {
    work = mkdtempSync(join(tmpdir(), "vocab-train-"));
    writeFileSync(join(work, "synth.txt"), synth());
  });
  after(() => rmSync(work, { recursive: true, force: true }));
  for (const c of cases.filter((c) => c.corpus === "synth")) checkCase(c, () => work);
});

describeConformance(
  "vocab-train: BPE and unigram, byte-identical to spm_train 0.1.97 (Chinese and mixed corpora)",
  ["text/zh_examples.txt", "text/zh_heldout.txt"],
  () => {
    let work = "";
    before(() => {
      work = mkdtempSync(join(tmpdir(), "vocab-train-"));
      writeFileSync(join(work, "mixed.txt"), mixed(fixturePath("text")));
      writeFileSync(join(work, "synth.txt"), synth());
      symlinkSync(fixturePath("text/zh_examples.txt"), join(work, "zh.txt"));
    });
    after(() => rmSync(work, { recursive: true, force: true }));
    for (const c of cases.filter((c) => c.corpus !== "synth")) checkCase(c, () => work);
  },
);
