// The sampling flags as a user types them (in-process main()): the repetition / frequency /
// presence penalties change a greedy continuation of stories260K (from `--ids`), and --seed
// gives the same text across runs and thread counts.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticModel } from "@llamats/engine";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";

describe("cli: sampling flags (generate)", function () {
  let dir: string;
  let model: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-cli-sampling-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 0 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const gen = async (...extra: string[]) => {
    const r = await runMain(["generate", "-m", model, "-p", "Once upon a time there was", "-n", "24", ...extra]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.trim().length).to.be.greaterThan(0);
    return r.out;
  };

  it("--seed: the same text across runs and --threads 1 / 2; another seed, other text", async () => {
    const flags = ["--temp", "0.9", "--repeat-penalty", "1.2", "--frequency-penalty", "0.2", "--presence-penalty", "0.1"];
    const a = await gen("--backend", "ts", "--seed", "1234", ...flags);
    expect(await gen("--backend", "ts", "--seed", "1234", ...flags)).to.equal(a);
    const one = await gen("--backend", "wasm", "--threads", "1", "--seed", "1234", ...flags);
    expect(await gen("--backend", "wasm", "--threads", "2", "--seed", "1234", ...flags)).to.equal(one);
    expect(await gen("--backend", "ts", "--seed", "1235", ...flags)).to.not.equal(a);
  });

  it("bad penalty values are one error line, exit 2", async () => {
    for (const bad of [["--frequency-penalty", "x"], ["--repeat-last-n", "-2"], ["--presence-penalty", ""]]) {
      const r = await runMain(["generate", "-m", model, "-p", "hi", ...bad]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/^llamats: .*(penalty|repeat-last-n)/);
      expect(r.err.trim().split("\n")).to.have.length(1);
    }
  });
});

describeConformance("cli: generate --ids on stories260K (llama2.c) with penalties", ["stories260K/stories260K.bin", "stories260K/reference.json"], () => {
  const gen = async (...extra: string[]): Promise<number[]> => {
    const r = await runMain(["generate", "-m", fixturePath("stories260K/stories260K.bin"), "--format", "llama2c", "--ids", "1", "-n", "40", "--temp", "0", "--backend", "ts", ...extra]);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^\d+(,\d+)*\n$/);
    return r.out.trim().split(",").map(Number);
  };

  it("temperature 0: --repeat-penalty 1.3 gives other ids than 1.0 (which are run.c's greedy ids)", async () => {
    const ref = JSON.parse(readFileSync(fixturePath("stories260K/reference.json"), "utf8")) as { greedy: { prompt: number[]; generated: number[] } };
    expect(ref.greedy.prompt).to.deep.equal([1]);
    const plain = await gen("--repeat-penalty", "1.0");
    expect(plain).to.deep.equal(ref.greedy.generated.slice(0, 40));
    expect(await gen("--repeat-penalty", "1.3")).to.not.deep.equal(plain);
  });

  it("--frequency-penalty and --presence-penalty change them too; --repeat-last-n 0 switches the penalties off", async () => {
    const plain = await gen("--repeat-penalty", "1.0");
    expect(await gen("--repeat-penalty", "1.0", "--frequency-penalty", "1")).to.not.deep.equal(plain);
    expect(await gen("--repeat-penalty", "1.0", "--presence-penalty", "1.5")).to.not.deep.equal(plain);
    expect(await gen("--repeat-penalty", "1.3", "--frequency-penalty", "1", "--repeat-last-n", "0")).to.deep.equal(plain);
  });

  it("--ids outside the vocabulary is one error line, exit 2", async () => {
    const r = await runMain(["generate", "-m", fixturePath("stories260K/stories260K.bin"), "--format", "llama2c", "--ids", "1,512", "-n", "2"]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/^llamats: --ids: id 512 is outside the vocabulary \(512\)\n$/);
  });
});
