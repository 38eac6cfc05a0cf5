// `llamats vocab-train` as a user runs it (spawned from sources), and the seed's pipeline end
// to end: vocab-train, then vocab-merge into LLaMA's tokenizer, then tokenize, against
// spm_train + merge_tokenizers.py + spm_encode (fixtures/vocab-train, made by gen.sh).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describeConformance, fixturePath, repoRoot } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";
// @ts-expect-error plain JS generator shared with gen.sh
import { synth } from "../../../fixtures/vocab-train/corpus.mjs";

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
// The commands run in a scratch folder (the model records --input as given), so tsx is
// named by its resolved URL rather than found from the working directory.
const tsx = import.meta.resolve("tsx");
const dir = join(repoRoot(), "fixtures", "vocab-train");

function llamats(args: string[], cwd: string, input?: string) {
  const r = spawnSync(process.execPath, ["--conditions=source", `--import=${tsx}`, bin, ...args], {
    encoding: "utf8",
    timeout: 180000,
    cwd,
    input,
    maxBuffer: 1 << 26,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("cli: vocab-train", () => {
  let work = "";
  before(() => {
    work = mkdtempSync(join(tmpdir(), "cli-vocab-train-"));
    writeFileSync(join(work, "synth.txt"), synth());
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("--help: the flags of issue 19, spm_train's defaults", async () => {
    const r = await runMain(["vocab-train", "--help"]);
    expect(r.code).to.equal(0);
    expect(r.out).to.contain("Usage: llamats vocab-train [options]\n");
    for (const f of ["--input", "--vocab-size", "--model-type", "--character-coverage", "--max-sentence-length", "--input-sentence-size",
      "--seed", "--byte-fallback", "--split-digits", "--user-defined-symbols", "--normalization", "-o,"]) {
      expect(r.out, f).to.contain(f);
    }
    for (const v of ['"8000"', '"unigram"', '"0.9995"', '"4192"', '"12345678"', '"nmt_nfkc"']) expect(r.out).to.contain(v);
  });

  it("writes PREFIX.model and PREFIX.vocab identical to spm_train's; sha256 on stdout", function () {
    this.timeout(180000);
    // case synth_bpe_700_identity_sample of cases.json, as a user would type it
    const r = llamats(["vocab-train", "--input", "synth.txt", "--vocab-size", "700", "--model-type", "bpe", "--normalization", "identity",
      "--input-sentence-size", "1500", "--split-digits", "-o", "synth_bpe_700_identity_sample"], work);
    expect(r.code, r.err).to.equal(0);
    const goldens = JSON.parse(readFileSync(join(dir, "goldens.json"), "utf8"));
    expect(r.out).to.equal(`${goldens.cases.synth_bpe_700_identity_sample.sha256}  synth_bpe_700_identity_sample.model\n`);
    const model = readFileSync(join(work, "synth_bpe_700_identity_sample.model"));
    expect(model.equals(gunzipSync(readFileSync(join(dir, "goldens/synth_bpe_700_identity_sample.model.gz"))))).to.equal(true);
    const vocab = readFileSync(join(work, "synth_bpe_700_identity_sample.vocab"));
    expect(vocab.equals(gunzipSync(readFileSync(join(dir, "goldens/synth_bpe_700_identity_sample.vocab.gz"))))).to.equal(true);
    expect(r.err).to.match(/vocab-train: \d+ sentences .* 700 pieces/);
  });

  it("bad input: one line on stderr, exit 2", function () {
    this.timeout(60000);
    const cases: [string[], RegExp][] = [
      [["--input", "missing.txt", "-o", "x"], /^llamats: cannot read corpus missing\.txt/],
      [["--input", "synth.txt", "--model-type", "word", "-o", "x"], /^llamats: --model-type must be bpe or unigram/],
      [["--input", "synth.txt", "--vocab-size", "50", "--model-type", "bpe", "-o", "x"], /^llamats: vocab-train: vocabulary size is smaller than required_chars/],
      [["--input", "synth.txt", "--character-coverage", "0.5", "-o", "x"], /^llamats: vocab-train: --character-coverage must be in \[0\.98, 1\]/],
      [["--input", "synth.txt", "--vocab-size", "abc", "-o", "x"], /^llamats: --vocab-size must be a non-negative integer/],
    ];
    for (const [args, re] of cases) {
      const r = llamats(["vocab-train", ...args], work);
      expect(r.code, args.join(" ")).to.equal(2);
      // progress lines may come first (the corpus is read before its alphabet is known)
      const lines = r.err.trim().split("\n");
      expect(lines.at(-1)).to.match(re);
      expect(lines.filter((l) => l.startsWith("llamats:")).length).to.equal(1);
      expect(r.err).not.to.contain("    at ");
    }
  });
});

describeConformance(
  "cli: vocab-train -> vocab-merge -> tokenize, as spm_train -> merge_tokenizers.py -> spm_encode",
  ["text/zh_examples.txt", "text/zh_heldout.txt", "tokenizers/llama/tokenizer.model"],
  () => {
    const e2e = JSON.parse(readFileSync(join(dir, "e2e.json"), "utf8")) as { name: string; modelType: string; vocabSize: number }[];
    const goldens = JSON.parse(readFileSync(join(dir, "e2e-goldens.json"), "utf8"));
    for (const c of e2e) {
      it(`${c.name}: same trained model, same merged model, same ids on 300 held-out lines`, function () {
        this.timeout(300000);
        const work = mkdtempSync(join(tmpdir(), "cli-vocab-e2e-"));
        try {
          symlinkSync(fixturePath("text/zh_examples.txt"), join(work, `${c.name}.txt`));
          const t = llamats(["vocab-train", "--input", `${c.name}.txt`, "--model-type", c.modelType, "--vocab-size", String(c.vocabSize), "-o", c.name], work);
          expect(t.code, t.err).to.equal(0);
          expect(t.out.split(" ")[0]).to.equal(goldens.cases[c.name].trainedSha256);
          const m = llamats(["vocab-merge", "--base", fixturePath("tokenizers/llama/tokenizer.model"), "--add", `${c.name}.model`, "-o", "merged.model"], work);
          expect(m.code, m.err).to.equal(0);
          expect(m.out.split(" ")[0]).to.equal(goldens.cases[c.name].mergedSha256);
          const lines = readFileSync(fixturePath("text/zh_heldout.txt"), "utf8").split("\n").filter((l) => l.trim() !== "").slice(0, 300);
          const tok = llamats(["tokenize", "-t", "merged.model", "--jsonl"], work, lines.map((text) => JSON.stringify({ text })).join("\n") + "\n");
          expect(tok.code, tok.err).to.equal(0);
          const ours = tok.out.trim().split("\n").map((l) => (JSON.parse(l) as { ids: number[] }).ids.join(" "));
          const spm = gunzipSync(readFileSync(join(dir, "goldens", `${c.name}.heldout-ids.txt.gz`))).toString("utf8").trimEnd().split("\n");
          expect(ours.length).to.equal(300);
          expect(ours).to.deep.equal(spm);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      });
    }
  },
);
