// `llamats quantize IN OUT TYPE [--pure] [--output-tensor-type T] [--token-embedding-type T]
// [--allow-requantize] [--threads N]`: llama-quantize for GGUF, Hugging Face and Meta inputs,
// a thin layer over @llamats/formats quantizeModel (which tensor gets which type follows
// llama.cpp, mixtures Q4_K_M etc. included; the quantisers are byte-identical to llama.cpp's
// reference ones). The work runs in a supervised child (../supervise.ts): Ctrl-C / SIGTERM
// exit 130 / 143 with no OUT.tmp-<pid> left. Progress, fallbacks and the summary on stderr,
// nothing on stdout. NaN / Inf weights, adapters, vocabulary-only files and (without
// --allow-requantize) already quantised tensors are refused with one line (exit 2).

import type { Command } from "commander";
import { formatFallback, parseQuantizeType, parseTensorType, quantizeFileTypes } from "@llamats/quant";
import { quantizeModel } from "@llamats/formats";
import { ProgressBar } from "../progress.js";
import { supervisedWrite } from "../supervise.js";
import { parseIntArg } from "./model-options.js";

interface QuantizeCliOptions {
  pure?: boolean;
  outputTensorType?: string;
  tokenEmbeddingType?: string;
  allowRequantize?: boolean;
  threads?: string;
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("quantise a model (GGUF, HF or Meta) to a GGUF file, as llama-quantize does")
    .argument("<in>", "input model: GGUF file, Hugging Face folder or Meta .pth folder")
    .argument("<out>", "output GGUF file")
    .argument("<type>", `${Object.keys(quantizeFileTypes).join(", ")} (any case; Q4_K_M etc. are llama.cpp's mixtures, q3_k / q4_k / q5_k uniform)`)
    .option("--pure", "no mixed types: output.weight and the mixtures' layers get TYPE too")
    .option("--output-tensor-type <t>", "type of output.weight")
    .option("--token-embedding-type <t>", "type of token_embd.weight")
    .option("--allow-requantize", "quantise tensors that are already quantised (loses precision)")
    .option("--threads <n>", "threads quantising each tensor (default 1)")
    .action(async (inPath: string, outPath: string, type: string, o: QuantizeCliOptions, cmd: Command) => {
      const threads = o.threads !== undefined ? parseIntArg("--threads", o.threads, 1) : 1;
      const ftype = parseQuantizeType(type);
      const outputTensorType = o.outputTensorType !== undefined ? parseTensorType(o.outputTensorType) : undefined;
      const tokenEmbeddingType = o.tokenEmbeddingType !== undefined ? parseTensorType(o.tokenEmbeddingType) : undefined;
      if (await supervisedWrite(cmd, outPath)) return;
      const bar = new ProgressBar(`quantize ${ftype.name}`);
      const t0 = Date.now();
      const r = await quantizeModel(inPath, outPath, type, {
        pure: o.pure, threads, outputTensorType, tokenEmbeddingType, allowRequantize: o.allowRequantize, onProgress: bar.update,
      });
      bar.done();
      for (const f of r.fallbacks) process.stderr.write(formatFallback(f) + "\n");
      if (r.requantized.length) {
        process.stderr.write(`warning: requantised ${r.requantized.length} tensors that were already quantised (${[...new Set(r.requantized.map((q) => `${q.from} -> ${q.to}`))].join(", ")}): quality is lower than quantising the f16 model\n`);
      }
      const counts = new Map<string, number>();
      for (const t of Object.values(r.types)) counts.set(t, (counts.get(t) ?? 0) + 1);
      const mix = [...counts].map(([t, n]) => `${n} ${t}`).join(", ");
      process.stderr.write(`wrote ${outPath}: ${(r.bytes / 2 ** 20).toFixed(1)} MiB, tensors ${mix}${r.fallbacks.length ? `, ${r.fallbacks.length} fallbacks` : ""}, in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
}
