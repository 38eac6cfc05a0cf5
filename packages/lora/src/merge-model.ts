// mergeLoras: the whole `llamats merge` job. Open the base and the adapters, run every check
// (nothing is written if one fails), merge into a staged HF folder, then convert it to the
// requested output. Everything is written under `OUT.tmp-<pid>` and renamed onto OUT at the
// end; on any failure the temp folders are removed, so no partial output is ever left.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, resolve } from "node:path";
import { LlamatsError, type ProgressCallback } from "@llamats/tensor";
import { openAdapter, type Adapter } from "./adapter.js";
import { openBaseModel, type BaseModel } from "./base-model.js";
import { checkMergeInputs, checkOutputTokenizer, MergeCheckError } from "./checks.js";
import { setLoraThreads } from "./merge.js";
import { mergeToHfFolder, type MergeStats } from "./merge-hf.js";
import { writeGgufFromMergedHf, ggmlTypeForDtype } from "./write-gguf.js";
import { writeMetaFromHf } from "./write-pth.js";

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
  onProgress?: ProgressCallback;
  log?: (line: string) => void;
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
 * The temp folders a merge into `out` by process `pid` writes before the final rename
 * (OUT.tmp-<pid>, and OUT.stage-<pid> for pth / gguf outputs): what a supervisor removes when
 * the merging process is killed.
 */
export function mergeTempPaths(out: string, pid = process.pid): [tmp: string, stage: string] {
  const abs = resolve(out);
  return [`${abs}.tmp-${pid}`, `${abs}.stage-${pid}`];
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
  let base: BaseModel | undefined;
  let merged: BaseModel | undefined;
  const [tmp, stageDir] = mergeTempPaths(out);
  const stage = opts.outputType === "huggingface" ? tmp : stageDir;
  let threads = 1;
  try {
    for (const l of opts.loras) adapters.push(openAdapter(l));
    base = openBaseModel(resolve(opts.base), { preferBin: opts.hfBin });
    const vocabSize = checkMergeInputs(base, adapters);
    checkOutputTokenizer(base, adapters, vocabSize, opts.outputType === "gguf");
    opts.log?.(`base ${base.dir} (${base.kind}, ${base.shards.length} shard(s)); LoRAs: ${adapters.map((a) => `${a.name} r=${a.config.r} alpha=${a.config.loraAlpha}`).join(", ")}`);
    threads = setLoraThreads(opts.threads ?? availableParallelism());
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    if (stage !== tmp) mkdirSync(stage, { recursive: true });
    const stats = mergeToHfFolder(base, adapters, stage, vocabSize, { hfBin: opts.hfBin, onProgress: opts.onProgress, log: opts.log });
    adapters.forEach((a, i) => {
      if (a.plan.pairs.size > 0 && stats.changedPerLora[i] === 0) {
        throw new MergeCheckError(`LoRA ${i + 1} (${a.dir}) changes nothing: its deltas are below float16 resolution everywhere`);
      }
    });
    let files: string[];
    if (opts.outputType === "huggingface") files = readdirSync(tmp);
    else {
      merged = openBaseModel(stage);
      if (opts.outputType === "pth") files = writeMetaFromHf(merged, tmp, { shards: opts.pthShards, onProgress: opts.onProgress });
      else files = [writeGgufFromMergedHf(stage, tmp, { dtype: opts.dtype, name: basename(out), onProgress: opts.onProgress })];
      merged.close();
      merged = undefined;
      rmSync(stage, { recursive: true, force: true });
    }
    if (existsSync(out)) rmSync(out, { recursive: true }); // checked empty above
    renameSync(tmp, out);
    const rss = process.resourceUsage().maxRSS * 1024;
    return {
      ...stats, peakRssBytes: Math.max(stats.peakRssBytes, rss), out, outputType: opts.outputType,
      files: files.sort(), vocabSize, seconds: (Date.now() - t0) / 1000, threads,
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (stage !== tmp) rmSync(stage, { recursive: true, force: true });
    throw e;
  } finally {
    setLoraThreads(1);
    merged?.close();
    base?.close();
    for (const a of adapters) a.close();
  }
}
