// The command-line contracts of issues 3-8, word for word: every command answers --help
// (exit 0, on stdout) and offers each flag and argument the issue names, in the form written
// there (short and long). Behaviour is tested per command in the other files; this keeps a
// renamed or dropped flag from slipping through.
import { expect } from "chai";
import { runMain } from "./helpers/run-main.js";

const help = (cmd: string) => runMain([cmd, "--help"]);

/** command -> [usage line arguments, flags as the issues write them]. */
const CONTRACTS: Record<string, [string, string[]]> = {
  inspect: ["<path>", ["--json", "--format"]], // issue 3
  convert: ["<in> <out>", ["--to", "--dtype"]],
  tokenize: ["", ["-t,", "--bos", "-p,", "--jsonl"]], // issue 4
  detokenize: ["", ["-t,", "--ids"]],
  "vocab-merge": ["", ["--base", "--add ", "-o,", "--add-pad"]],
  quantize: ["<in> <out> <type>", ["--pure", "--output-tensor-type", "--threads"]], // issue 5
  generate: ["", ["-m,", "-p,", "-f,", "-n,", "--temp", "--top-k", "--top-p", "--repeat-penalty", "--seed", "--with-prompt",
    "--alpha", "--threads", "--data-file", "--lora", "--format"]], // issue 6
  chat: ["", ["-m,"]],
  logits: ["", ["-m,", "--ids", "--out", "--format", "--alpha", "--lora", "--threads"]],
  merge: ["", ["--base", "--lora", "--output-type", "--out", "--dtype", "--low-mem", "--verify", "--hf-bin"]], // issue 7
  bench: ["", ["-m,", "-p,", "-n,", "--threads", "--json"]], // issue 8
  synth: ["", ["--shape", "--type", "-o,"]],
};

describe("cli: contracts of issues 3-8 (--help of every command)", () => {
  for (const [cmd, [args, flags]] of Object.entries(CONTRACTS)) {
    it(`${cmd} --help: exit 0 on stdout, usage "${`${cmd} [options] ${args}`.trim()}", flags ${flags.join(" ")}`, async () => {
      const r = await help(cmd);
      expect(r.code).to.equal(0);
      expect(r.err).to.equal("");
      expect(r.out).to.contain(`Usage: llamats ${cmd} [options]${args ? ` ${args}` : ""}\n`);
      const optionLines = r.out.split("\n").filter((l) => /^\s+-/.test(l)).join("\n");
      for (const f of flags) expect(optionLines, `${cmd} ${f}`).to.contain(f);
    });
  }
});

describe("cli: usage errors are one line on stderr, exit 2", () => {
  const cases: string[][] = [
    ["tokenize", "-p", "x"], // required option missing
    ["inspect"], // required argument missing
    ["quantize", "a", "b"],
    ["generate", "-m", "x", "--top-k"], // option argument missing
    ["bench", "-m", "x", "--backend", "zz"], // not one of the choices
    ["no-such-command"],
  ];
  for (const args of cases) {
    it(`llamats ${args.join(" ")}`, async () => {
      const r = await runMain(args);
      expect(r.code).to.equal(2);
      expect(r.out).to.equal("");
      expect(r.err).to.match(/^llamats: error: [^\n]+\n$/);
    });
  }
});
