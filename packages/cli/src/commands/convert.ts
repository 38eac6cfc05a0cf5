// `llamats convert IN OUT [--to gguf|safetensors|hf|pth] [--dtype f32|f16|bf16]`: rewrite a
// model in another layout. Without --dtype every tensor keeps its bytes (Q/K permuted
// between layouts as needed); with it, matrices take that dtype (GGUF keeps 1-D norms in
// F32, as llama.cpp's converters do). --to defaults from OUT's extension (.gguf,
// .safetensors; otherwise gguf; a .pth / .bin / .pt file name is refused: Meta and HF
// outputs are folders). Output goes to OUT.tmp-<pid> and is renamed when complete; the work
// runs in a supervised child (Ctrl-C / SIGTERM: exit 130 / 143, nothing left behind).
// PEFT adapters are refused (they are not models), and a GGUF written without a tokenizer
// gets a warning (llama.cpp refuses to load it). Progress and the summary on stderr.

import type { Command } from "commander";
import { GGMLType, LlamatsError } from "@llamats/tensor";
import {
  dtypePolicy, openGguf, openModelSource, refuseAdapter, writeGgufFromSource, writeHfFromSource, writeMetaFromSource, writeSafetensorsFromSource,
  type SourceFormat,
} from "@llamats/formats";
import { ProgressBar } from "../progress.js";
import { supervisedWrite } from "../supervise.js";

const TARGETS = ["gguf", "safetensors", "hf", "pth"] as const;
type Target = (typeof TARGETS)[number];
const DTYPES: Record<string, GGMLType> = { f32: GGMLType.F32, f16: GGMLType.F16, bf16: GGMLType.BF16 };
const FORMATS: SourceFormat[] = ["gguf", "safetensors", "hf", "meta", "llama2c"];

export function targetFor(out: string, to?: string): Target {
  if (to !== undefined) {
    if (!TARGETS.includes(to as Target)) throw new LlamatsError(`--to must be one of ${TARGETS.join(", ")}, got "${to}"`);
    return to as Target;
  }
  if (out.endsWith(".safetensors")) return "safetensors";
  if (/\.(pth|pt|bin)$/i.test(out)) {
    throw new LlamatsError(`${out}: a Meta (.pth) or Hugging Face (.bin) model is a folder: give a folder name with --to pth or --to hf (or a .gguf / .safetensors file name)`);
  }
  return "gguf";
}

export function register(program: Command): void {
  program
    .command("convert")
    .description("convert a model between GGUF, safetensors, Hugging Face and Meta .pth layouts")
    .argument("<in>", "model file or folder (any format `inspect` reads)")
    .argument("<out>", "output file (gguf, safetensors) or folder (hf, pth)")
    .option("--to <target>", `output layout: ${TARGETS.join(", ")} (default: from OUT's extension, else gguf)`)
    .option("--dtype <dtype>", "convert tensors to f32, f16 or bf16 (default: keep each tensor's bytes)")
    .option("--format <format>", `force the input format (${FORMATS.join(", ")})`)
    .action(async (inPath: string, outPath: string, opts: { to?: string; dtype?: string; format?: string }, cmd: Command) => {
      const target = targetFor(outPath, opts.to);
      let dtype: GGMLType | undefined;
      if (opts.dtype !== undefined) {
        dtype = DTYPES[opts.dtype.toLowerCase()];
        if (dtype === undefined) throw new LlamatsError(`--dtype must be f32, f16 or bf16, got "${opts.dtype}"`);
      }
      if (opts.format !== undefined && !FORMATS.includes(opts.format as SourceFormat)) {
        throw new LlamatsError(`--format must be one of ${FORMATS.join(", ")}, got "${opts.format}"`);
      }
      if (await supervisedWrite(cmd, outPath)) return;
      const source = await openModelSource(inPath, { format: opts.format as SourceFormat | undefined });
      const bar = new ProgressBar(`convert -> ${target}`);
      const t0 = Date.now();
      try {
        refuseAdapter(source);
        if (source.tensors.length === 0) throw new LlamatsError(`${inPath}: no tensors to convert`);
        const uniform = dtype === undefined ? undefined : () => dtype!;
        switch (target) {
          case "gguf":
            writeGgufFromSource(source, outPath, { typeFor: dtype === undefined ? undefined : dtypePolicy(dtype), onProgress: bar.update });
            break;
          case "safetensors":
            writeSafetensorsFromSource(source, outPath, { typeFor: uniform, onProgress: bar.update });
            break;
          case "hf":
            writeHfFromSource(source, outPath, { typeFor: uniform, onProgress: bar.update });
            break;
          case "pth":
            writeMetaFromSource(source, outPath, { typeFor: uniform, onProgress: bar.update });
            break;
        }
      } finally {
        bar.done();
        source.close();
      }
      if (target === "gguf" && !hasTokenizer(outPath)) {
        process.stderr.write(`llamats: warning: ${outPath} has no tokenizer (no tokenizer.ggml.* metadata; ${inPath} has none beside it): llama.cpp refuses to load it; llamats runs it with --tokenizer PATH or token ids\n`);
      }
      process.stderr.write(`llamats: wrote ${outPath} (${target}, ${source.tensors.length} tensors from ${source.format}) in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    });
}

function hasTokenizer(gguf: string): boolean {
  const g = openGguf(gguf);
  try {
    return g.metadata["tokenizer.ggml.tokens"] !== undefined;
  } finally {
    g.close();
  }
}
