// `llamats synth --shape tiny|1b|7b --type f16|q8_0|q4_0 -o FILE [--seed N]`: write a synthetic
// LLaMA (real architecture, seeded weights, embedded tokenizer) as GGUF, for the demo, tests
// and benchmarks. The work runs in a supervised child (Ctrl-C / SIGTERM: exit 130 / 143, no
// FILE.tmp-<pid> left). Progress on stderr; nothing on stdout.

import type { Command } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { SYNTH_SHAPES, writeSyntheticModel } from "@llamats/engine";
import { ProgressBar } from "../progress.js";
import { supervisedWrite } from "../supervise.js";
import { parseIntArg } from "./model-options.js";

export function register(program: Command): void {
  program
    .command("synth")
    .description("write a synthetic LLaMA model (seeded weights, real shape, embedded tokenizer) as GGUF")
    .requiredOption("--shape <shape>", `model shape: ${Object.keys(SYNTH_SHAPES).join(", ")}`)
    .option("--type <type>", "weight type of the matrices (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q6_k...)", "f16")
    .requiredOption("-o, --output <file>", "output GGUF file")
    .option("--seed <n>", "PRNG seed", "0")
    .action(async (o: { shape: string; type: string; output: string; seed: string }, cmd: Command) => {
      const seed = parseIntArg("--seed", o.seed, 0);
      if (!o.output) throw new LlamatsError("-o FILE is required");
      if (await supervisedWrite(cmd, o.output)) return;
      const bar = new ProgressBar(`synth ${o.shape} ${o.type}`);
      const t0 = Date.now();
      const bytes = writeSyntheticModel(o.output, { shape: o.shape, type: o.type, seed, onProgress: bar.update });
      bar.done();
      process.stderr.write(`wrote ${o.output}: ${(bytes / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
}
