// `llamats merge`: rebuild Chinese-LLaMA / Alpaca / Plus / Pro from LLaMA and PEFT LoRAs
// (issue 7). A thin layer over @llamats/lora's mergeLoras: progress on stderr, a JSON
// summary on stdout, exit 2 (one line) when an input is wrong and nothing was written.
// The merge runs in a supervised child process (../supervise.ts), so Ctrl-C / SIGTERM end it
// at once with exit 130 / 143 and no OUT.tmp-* or OUT.stage-* left behind.

import type { Command } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { formatFallback, quantizeFileTypes } from "@llamats/quant";
import { formatVerifyLine, mergeLoras, verifyInputs, type MergeOutputType } from "@llamats/lora";
import { ProgressBar } from "../progress.js";
import { supervisedWrite } from "../supervise.js";

interface MergeCliOptions {
  base: string;
  lora: string;
  outputType: string;
  out: string;
  dtype?: string;
  lowMem?: boolean;
  verify?: boolean;
  hfBin?: boolean;
  pthShards?: string;
  threads?: string;
  verbose?: boolean;
}

const OUTPUT_TYPES = ["huggingface", "pth", "gguf"];

export function register(program: Command): void {
  program
    .command("merge")
    .description("merge PEFT LoRA adapters (in order) into a base LLaMA; write HF, Meta .pth or GGUF")
    .requiredOption("--base <dir>", "base model folder: Hugging Face (config.json + weights) or Meta (params.json + consolidated.*.pth)")
    .requiredOption("--lora <dir[,dir...]>", "LoRA folders, comma-separated, applied in order (Alpaca-Plus: llama-plus,alpaca-plus)")
    .requiredOption("--output-type <type>", "huggingface | pth | gguf")
    .requiredOption("--out <dir>", "output folder (must not exist or be empty)")
    .option("--dtype <type>", `gguf weight type, as quantize takes it: ${Object.keys(quantizeFileTypes).join(", ")} (default f16)`)
    .option("--low-mem", "stream tensor by tensor (always on: accepted for the seed's scripts' habit)")
    .option("--verify", "print the sha256 of every input and compare with the published SHA256 table")
    .option("--hf-bin", "huggingface output as torch.save .bin shards named like the input, not safetensors")
    .option("--pth-shards <n>", "pth output: model-parallel shard count (default from the size: 7B 1, 13B 2, 33B 4)")
    .option("--threads <n>", "threads for the LoRA delta product (default: all cores)")
    .option("--verbose", "log every tensor merged or replaced")
    .action(async (o: MergeCliOptions, cmd: Command) => {
      if (await supervisedWrite(cmd, o.out)) return;
      const outputType = o.outputType.toLowerCase();
      if (!OUTPUT_TYPES.includes(outputType)) throw new LlamatsError(`--output-type must be one of ${OUTPUT_TYPES.join(", ")}, got ${o.outputType}`);
      const loras = o.lora.split(",").map((s) => s.trim()).filter((s) => s.length > 0); // as the seed: strip, drop empties
      let pthShards: number | undefined;
      if (o.pthShards !== undefined) {
        pthShards = Number(o.pthShards);
        if (!Number.isInteger(pthShards) || pthShards < 1) throw new LlamatsError(`--pth-shards must be a positive integer, got ${o.pthShards}`);
      }
      let threads: number | undefined;
      if (o.threads !== undefined) {
        threads = Number(o.threads);
        if (!Number.isInteger(threads) || threads < 1) throw new LlamatsError(`--threads must be a positive integer, got ${o.threads}`);
      }
      if (o.verify) {
        for (const line of verifyInputs(o.base, loras, (p) => process.stderr.write(`hashing ${p}\n`))) {
          process.stdout.write(`${formatVerifyLine(line)}\n`);
        }
      }
      const bar = new ProgressBar("merge");
      const fallbacks: string[] = [];
      const summary = mergeLoras({
        base: o.base, loras, outputType: outputType as MergeOutputType, out: o.out, dtype: o.dtype, hfBin: o.hfBin, pthShards, threads,
        onProgress: bar.update, log: o.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined,
        onFallback: (f) => fallbacks.push(formatFallback(f)),
      });
      bar.done();
      // As quantize: which tensors could not take --dtype (rows not whole blocks) and what they got.
      for (const l of fallbacks) process.stderr.write(`${l}\n`);
      if (fallbacks.length) process.stderr.write(`merge: ${fallbacks.length} tensors fell back from --dtype ${o.dtype} (rows not whole blocks)\n`);
      process.stderr.write(
        `merged ${summary.tensorsMerged} LoRA deltas, replaced ${summary.tensorsReplaced} tensors into ${summary.out} ` +
          `in ${summary.seconds.toFixed(1)} s (${summary.threads} thread(s)); peak RSS ${(summary.peakRssBytes / (1 << 20)).toFixed(0)} MiB\n`,
      );
      process.stdout.write(`${JSON.stringify({
        out: summary.out, outputType: summary.outputType, files: summary.files, vocabSize: summary.vocabSize,
        tensorsMerged: summary.tensorsMerged, tensorsReplaced: summary.tensorsReplaced, changedPerLora: summary.changedPerLora,
        seconds: summary.seconds, threads: summary.threads, peakRssBytes: summary.peakRssBytes,
      })}\n`);
    });
}
