// torch.save-compatible writer for a state dict of contiguous tensors: `ARCHIVE/data.pkl`,
// then one storage per tensor `ARCHIVE/data/KEY` (keys "0", "1", ... in state-dict order,
// written in sorted key order like torch), then `ARCHIVE/version` ("3\n"), with ARCHIVE the
// file name without extension, as torch 1.13 names it. Written to a temp file and renamed.

import { basename, extname } from "node:path";
import { AtomicFileWriter, LlamatsError } from "@llamats/tensor";
import { contiguousStrides } from "./strided.js";
import { torchElementBytes } from "./dtype.js";
import { pickleStateDict, type PickledTensor } from "./pickle-writer.js";
import type { TorchTensorInput, WriteTorchOptions } from "./types.js";
import { ZipWriter } from "./zip-writer.js";

/** The archive folder torch uses for a path: "consolidated.00.pth" -> "consolidated.00". */
export function torchArchiveName(path: string): string {
  const base = basename(path);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

function tensorBytes(t: Pick<TorchTensorInput, "name" | "dtype" | "shape">): number {
  let n = torchElementBytes(t.dtype);
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new LlamatsError(`tensor ${t.name}: bad dimension ${d}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new LlamatsError(`tensor ${t.name}: shape [${t.shape.join(", ")}] overflows`);
  return n;
}

/** What one file of a lockstep write holds: tensor i of every file is the same state-dict
 *  entry (same name and dtype), only shapes may differ (model-parallel shards). */
export interface TorchFilePlan {
  readonly path: string;
  readonly archiveName?: string;
  readonly shapes: readonly (readonly number[])[];
}

/** Write `tensors` (in this order) as a torch.save zip at `path`. */
export function writeTorchCheckpoint(path: string, tensors: readonly TorchTensorInput[], options: WriteTorchOptions = {}): void {
  writeTorchFiles(
    [{ path, archiveName: options.archiveName, shapes: tensors.map((t) => t.shape) }],
    tensors.map((t) => ({ name: t.name, dtype: t.dtype })),
    (i) => {
      const t = tensors[i];
      return [typeof t.data === "function" ? t.data() : t.data];
    },
    options.onProgress,
  );
}

/**
 * Write several torch.save files side by side (Meta model-parallel shards): tensor i's
 * bytes for every file come from one call partsOf(i) (one array per file), so a caller
 * computes each full tensor once. All files are temp files until every one is complete.
 */
export function writeTorchFiles(
  files: readonly TorchFilePlan[],
  entries: readonly { name: string; dtype: TorchTensorInput["dtype"] }[],
  partsOf: (tensorIndex: number) => readonly Uint8Array[],
  onProgress?: WriteTorchOptions["onProgress"],
): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new LlamatsError(`duplicate tensor name ${e.name}`);
    seen.add(e.name);
  }
  const sizes = files.map((f) => {
    if (f.shapes.length !== entries.length) throw new LlamatsError(`${f.path}: ${f.shapes.length} shapes for ${entries.length} tensors`);
    return entries.map((e, i) => tensorBytes({ name: e.name, dtype: e.dtype, shape: f.shapes[i] }));
  });
  const total = sizes.flat().reduce((a, b) => a + b, 0);
  const order = entries.map((_, i) => String(i)).sort(); // torch writes storages in sorted key order
  const writers: AtomicFileWriter[] = [];
  try {
    const zips = files.map((f, fi) => {
      const out = new AtomicFileWriter(f.path);
      writers.push(out);
      const zip = new ZipWriter(out);
      const pickled: PickledTensor[] = entries.map((e, i) => ({
        name: e.name, dtype: e.dtype, shape: f.shapes[i], strides: contiguousStrides(f.shapes[i]),
        storageKey: String(i), storageOffset: 0, storageNumel: sizes[fi][i] / torchElementBytes(e.dtype),
      }));
      const archive = f.archiveName ?? torchArchiveName(f.path);
      zip.add(`${archive}/data.pkl`, pickleStateDict(pickled));
      return { zip, archive };
    });
    let done = 0;
    for (const key of order) {
      const i = Number(key);
      const parts = partsOf(i);
      if (parts.length !== files.length) throw new LlamatsError(`tensor ${entries[i].name}: ${parts.length} parts for ${files.length} files`);
      zips.forEach(({ zip, archive }, fi) => {
        const bytes = parts[fi];
        if (bytes.length !== sizes[fi][i]) {
          throw new LlamatsError(`tensor ${entries[i].name}: ${bytes.length} bytes given, shape [${files[fi].shapes[i].join(", ")}] ${entries[i].dtype} needs ${sizes[fi][i]}`);
        }
        zip.add(`${archive}/data/${key}`, bytes);
        done += bytes.length;
      });
      onProgress?.({ done, total, unit: "bytes", label: entries[i].name });
    }
    for (const { zip, archive } of zips) {
      zip.add(`${archive}/version`, new TextEncoder().encode("3\n"));
      zip.finish();
    }
    for (const w of writers) w.commit();
  } catch (err) {
    for (const w of writers) w.abort();
    throw err;
  }
}
