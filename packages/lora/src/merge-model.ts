// mergeLoras: the whole `llamats merge` job. Open the base (a canonical ModelSource) and the
// adapters, run every check (nothing is written if one fails), then hand the merged source
// (merged-source.ts: each tensor merged when the writer reads it) to the writer of the
// requested output. Everything is written under `OUT.tmp-<pid>` and renamed onto OUT at the
// end (@llamats/tensor writeDirAtomically); on any failure the temp folder is removed, so no
// partial output is ever left.

import { existsSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import type { QuantizeFallback } from "@llamats/quant";
import { LlamatsError, setWriteBehind, tempPathsFor, writeDirAtomically, type ProgressCallback } from "@llamats/tensor";
import { openAdapter, type Adapter } from "./adapter.js";
import { openBaseModel, type MergeBase } from "./base.js";
import { checkMergeInputs, checkOutputTokenizer, MergeCheckError, tokenizerSourceDir } from "./checks.js";
import { setLoraThreads } from "./merge.js";
import { mergedSource, type MergeStats } from "./merged-source.js";
import { writeMergedGguf, ggmlTypeForDtype } from "./write-gguf.js";
import { writeHfFolder } from "./write-hf.js";
import { writePth } from "./write-pth.js";

export type MergeOutputType = "huggingface" | "pth" | "gguf";

export interface MergeLorasOptions {
  base: string;
  /** Adapter folders, applied in this order. */
  loras: readonly string[];
  outputType: MergeOutputType;
  out: string;
  /** gguf only: f16 (default), f32, q8_0, q4_0, ... */
  dtype?: string;
  /** huggingface only: torch.save .bin shards instead of safetensors. */
  hfBin?: boolean;
  /** pth only: model-parallel shard count (default from the model width). */
  pthShards?: number;
  /** Threads for the LoRA delta product (default: os.availableParallelism()). */
  threads?: number;
  /** Write through @llamats/tensor's write-behind thread (default true; false: writes on the calling thread). */
  writeBehind?: boolean;
  onProgress?: ProgressCallback;
  log?: (line: string) => void;
  /** GGUF output: each tensor whose rows do not fit --dtype, and the type it got instead. */
  onFallback?: (f: QuantizeFallback) => void;
}

export interface MergeSummary extends MergeStats {
  readonly out: string;
  readonly outputType: MergeOutputType;
  readonly files: string[];
  readonly vocabSize: number;
  readonly seconds: number;
  readonly threads: number;
}

/**
 * The temp folders a merge into `out` by process `pid` may leave when it is killed: what a
 * supervisor removes. OUT.tmp-<pid> holds the output until the final rename; OUT.stage-<pid>
 * is no longer written (the merge streams into the writers) but is still cleaned up, as
 * merges of earlier versions staged an HF folder there.
 */
export function mergeTempPaths(out: string, pid = process.pid): string[] {
  return tempPathsFor(out, pid);
}

function checkOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory() || readdirSync(out).length > 0) {
    throw new LlamatsError(`output ${out} already exists and is not an empty folder: choose another --out`);
  }
}

export function mergeLoras(opts: MergeLorasOptions): MergeSummary {
  const t0 = Date.now();
  const out = resolve(opts.out);
  if (opts.loras.length === 0) throw new LlamatsError("no LoRA given (--lora DIR[,DIR...])");
  if (opts.outputType === "gguf") ggmlTypeForDtype(opts.dtype ?? "f16");
  else if (opts.dtype && opts.dtype.toLowerCase() !== "f16") {
    throw new LlamatsError(`--dtype ${opts.dtype} applies to --output-type gguf; huggingface and pth outputs are float16 as the seed writes them`);
  }
  if (opts.hfBin && opts.outputType !== "huggingface") throw new LlamatsError("--hf-bin applies to --output-type huggingface only");
  checkOutDir(out);
  const adapters: Adapter[] = [];
  let base: MergeBase | undefined;
  let threads = 1;
  try {
    for (const l of opts.loras) adapters.push(openAdapter(l));
    base = openBaseModel(resolve(opts.base), { preferBin: opts.hfBin });
    const vocabSize = checkMergeInputs(base, adapters);
    checkOutputTokenizer(base, adapters, vocabSize, opts.outputType === "gguf");
    opts.log?.(`base ${base.dir} (${base.kind}, ${base.source.tensors.length} tensors); LoRAs: ${adapters.map((a) => `${a.name} r=${a.config.r} alpha=${a.config.loraAlpha}`).join(", ")}`);
    threads = setLoraThreads(opts.threads ?? availableParallelism());
    const stats: MergeStats = { tensorsMerged: 0, tensorsReplaced: 0, changedPerLora: adapters.map(() => 0), peakRssBytes: 0 };
    const tokenizerDir = tokenizerSourceDir(base, adapters);
    const tokenizerPath = existsSync(join(tokenizerDir, "tokenizer.model")) ? join(tokenizerDir, "tokenizer.model") : undefined;
    const merged = mergedSource(base.source, adapters, { vocabSize, tokenizerPath, log: opts.log }, stats);
    const baseModel = base;
    // A worker thread writes each tensor while the next one is read and merged (bytes and
    // order unchanged; at most 128 MiB in flight).
    if (opts.writeBehind !== false) setWriteBehind(true);
    const files = writeDirAtomically(out, (tmp) => {
      let files: string[];
      if (opts.outputType === "huggingface") {
        files = writeHfFolder(merged, tmp, {
          hfBin: opts.hfBin, config: { ...baseModel.hfConfig, vocab_size: vocabSize }, generationConfigDir: baseModel.dir, tokenizerDir, onProgress: opts.onProgress,
        });
      } else if (opts.outputType === "pth") files = writePth(merged, tmp, { shards: opts.pthShards, tokenizerDir, onProgress: opts.onProgress });
      else files = [writeMergedGguf(merged, tmp, { dtype: opts.dtype, name: basename(out), onProgress: opts.onProgress, onFallback: opts.onFallback })];
      adapters.forEach((a, i) => {
        if (a.plan.pairs.size > 0 && stats.changedPerLora[i] === 0) {
          throw new MergeCheckError(`LoRA ${i + 1} (${a.dir}) changes nothing: its deltas are below float16 resolution everywhere`);
        }
      });
      return files;
    }); // OUT was checked absent or empty above
    const rss = process.resourceUsage().maxRSS * 1024;
    return {
      ...stats, peakRssBytes: Math.max(stats.peakRssBytes, rss), out, outputType: opts.outputType,
      files: files.sort(), vocabSize, seconds: (Date.now() - t0) / 1000, threads,
    };
  } finally {
    setWriteBehind(false);
    setLoraThreads(1);
    base?.close();
    for (const a of adapters) a.close();
  }
}
