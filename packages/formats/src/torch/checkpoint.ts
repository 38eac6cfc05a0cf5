// PyTorch checkpoints as torch.save writes them (zip: `ARCHIVE/data.pkl` pickles the state
// dict, each storage is the stored entry `ARCHIVE/data/KEY`, `ARCHIVE/version` is "3"), and
// Hugging Face sharded folders (`pytorch_model.bin.index.json` mapping each tensor to one of
// `pytorch_model-0000K-of-0000N.bin`). Scope: state dicts, i.e. a top-level dict whose values
// are tensors (other values are skipped); storages are read lazily, tensor by tensor.
// Validation before any tensor read: every storage entry exists and holds exactly numel
// elements, every tensor's shape product fits, and its strided extent stays inside its storage.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FormatError } from "@llamats/tensor";
import { torchElementBytes } from "./dtype.js";
import { PyDict, TorchTensorRef } from "./pickle-values.js";
import { readerLimits } from "../limits.js";
import { defaultUnpickleLimits, unpickle, type UnpickleLimits } from "./pickle.js";
import type { OpenTorchOptions, TorchCheckpoint, TorchTensorInfo } from "./types.js";
import { ZipReader, type ZipEntry } from "./zip.js";
import { gatherStrided, isContiguous } from "./strided.js";

interface FileTensor {
  info: TorchTensorInfo;
  entry: ZipEntry;
  elementBytes: number;
}

/** One torch.save zip file. */
class TorchZipFile {
  readonly tensors: FileTensor[] = [];
  private readonly crcDone = new Set<string>();

  constructor(readonly zip: ZipReader, private readonly verifyCrc: boolean) {
    const path = zip.path;
    const pkl = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (pkl.length !== 1) {
      throw new FormatError(path, "data.pkl", 0, pkl.length === 0
        ? "no ARCHIVE/data.pkl entry: not a torch.save zip (legacy non-zip checkpoints are not supported)"
        : "more than one ARCHIVE/data.pkl entry");
    }
    const archive = pkl[0].name.slice(0, -"/data.pkl".length);
    const rl = readerLimits();
    const limits: UnpickleLimits = { ...defaultUnpickleLimits, maxBytes: rl.maxPickleBytes, maxValues: rl.maxPickleValues };
    if (pkl[0].size > limits.maxBytes) {
      throw new FormatError(path, pkl[0].name, pkl[0].dataOffset, `${pkl[0].size} bytes exceed the ${limits.maxBytes}-byte pickle limit (maxPickleBytes)`);
    }
    // torch >= 2.1 records the storages' byte order; we read little-endian bytes only.
    const order = zip.get(`${archive}/byteorder`);
    if (order && (order.size > 16 || new TextDecoder().decode(zip.read(order)).trim() !== "little")) {
      throw new FormatError(path, order.name, order.dataOffset, "storages are not little-endian: not supported");
    }
    const root = unpickle(zip.read(pkl[0]), `${path}:${pkl[0].name}`, limits);
    if (!(root instanceof PyDict)) {
      throw new FormatError(path, pkl[0].name, 0, "the pickled object is not a dict (a state dict is expected)");
    }
    for (let i = 0; i < root.size; i++) {
      const name = root.keys[i];
      const t = root.values[i];
      if (typeof name !== "string" || !(t instanceof TorchTensorRef)) continue;
      this.tensors.push(this.describe(path, archive, name, t));
    }
  }

  private describe(path: string, archive: string, name: string, t: TorchTensorRef): FileTensor {
    const fail: (field: string, detail: string, offset?: number) => never = (field, detail, offset = 0) => {
      throw new FormatError(path, `${name} ${field}`, offset, detail);
    };
    const entryName = `${archive}/data/${t.storage.key}`;
    const entry = this.zip.get(entryName);
    if (!entry) fail("storage", `storage entry ${entryName} is missing`);
    const elementBytes = torchElementBytes(t.storage.dtype);
    if (t.storage.numel * elementBytes !== entry.size) {
      fail("storage", `storage of ${t.storage.numel} ${t.storage.dtype} elements needs ${t.storage.numel * elementBytes} bytes, entry has ${entry.size}`, entry.dataOffset);
    }
    let count = 1;
    for (const d of t.shape) {
      count *= d;
      if (!Number.isSafeInteger(count * elementBytes)) fail("shape", `shape [${t.shape.join(", ")}] overflows`);
    }
    if (count > 0) {
      let last = t.storageOffset;
      for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.strides[i];
      if (!Number.isSafeInteger(last) || last >= t.storage.numel) {
        fail("strides", `elements up to ${last} are read from a storage of ${t.storage.numel}`, entry.dataOffset);
      }
    }
    const info: TorchTensorInfo = {
      name, dtype: t.storage.dtype, shape: t.shape, strides: t.strides, storageKey: t.storage.key,
      storageOffset: t.storageOffset, byteLength: count * elementBytes, file: path,
    };
    return { info, entry, elementBytes };
  }

  read(t: FileTensor, dst?: Uint8Array): Uint8Array {
    const { info, entry, elementBytes } = t;
    if (dst && dst.length < info.byteLength) {
      throw new RangeError(`destination holds ${dst.length} bytes, ${info.name} needs ${info.byteLength}`);
    }
    if (this.verifyCrc && !this.crcDone.has(entry.name)) {
      this.zip.checkCrc(entry);
      this.crcDone.add(entry.name);
    }
    const out = dst ? dst.subarray(0, info.byteLength) : new Uint8Array(info.byteLength);
    if (info.byteLength === 0) return out;
    if (isContiguous(info.shape, info.strides)) {
      return this.zip.readRange(entry, info.storageOffset * elementBytes, info.byteLength, out);
    }
    // Strided view: read the span of storage it touches, then gather in row-major order.
    let last = info.storageOffset;
    for (let i = 0; i < info.shape.length; i++) last += (info.shape[i] - 1) * info.strides[i];
    const span = this.zip.readRange(entry, info.storageOffset * elementBytes, (last - info.storageOffset + 1) * elementBytes);
    gatherStrided(out, span, info.shape, info.strides, elementBytes);
    return out;
  }

  close(): void {
    this.zip.close();
  }
}

class Checkpoint implements TorchCheckpoint {
  readonly tensors: TorchTensorInfo[] = [];
  private readonly byName = new Map<string, { file: TorchZipFile; t: FileTensor }>();

  constructor(readonly path: string, private readonly files: TorchZipFile[]) {
    for (const file of files) {
      for (const t of file.tensors) {
        if (this.byName.has(t.info.name)) {
          throw new FormatError(file.zip.path, t.info.name, 0, `tensor ${t.info.name} also appears in ${this.byName.get(t.info.name)!.file.zip.path}`);
        }
        this.byName.set(t.info.name, { file, t });
        this.tensors.push(t.info);
      }
    }
  }

  get(name: string): TorchTensorInfo | undefined {
    return this.byName.get(name)?.t.info;
  }

  read(name: string, dst?: Uint8Array): Uint8Array {
    const hit = this.byName.get(name);
    if (!hit) throw new RangeError(`no tensor named ${name} in ${this.path}`);
    return hit.file.read(hit.t, dst);
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

function openZipFile(path: string, options: OpenTorchOptions): TorchZipFile {
  let zip: ZipReader;
  try {
    zip = ZipReader.open(path, options);
  } catch (err) {
    if (err instanceof FormatError && err.field === "end of central directory" && startsWithPickle(path)) {
      throw new FormatError(path, "container", 0, "legacy torch.save format (PyTorch < 1.6, a bare pickle) is not supported: re-save it with a newer torch");
    }
    throw err;
  }
  try {
    return new TorchZipFile(zip, options.verifyCrc ?? false);
  } catch (err) {
    zip.close();
    throw err;
  }
}

function startsWithPickle(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x80 && head[1] <= 5;
  } finally {
    closeSync(fd);
  }
}

/**
 * Open a torch.save file (`.bin`, `.pth`, `.pt`), a Hugging Face shard index
 * (`pytorch_model.bin.index.json`) or a folder holding either the index,
 * `pytorch_model.bin` or `adapter_model.bin`.
 */
export function openTorchCheckpoint(path: string, options: OpenTorchOptions = {}): TorchCheckpoint {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const candidate of ["pytorch_model.bin.index.json", "pytorch_model.bin", "adapter_model.bin"]) {
      const p = join(path, candidate);
      if (existsSync(p)) return openTorchCheckpoint(p, options);
    }
    throw new FormatError(path, "folder", 0, "no pytorch_model.bin.index.json, pytorch_model.bin or adapter_model.bin");
  }
  if (path.endsWith(".index.json")) return openSharded(path, options);
  return new Checkpoint(path, [openZipFile(path, options)]);
}

/** Shard file names of an HF index json, in first-seen order (validated, same folder). */
export function readShardIndex(indexPath: string): { shards: string[]; weightMap: Map<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(indexPath, "utf8"));
  } catch (err) {
    throw new FormatError(indexPath, "json", 0, `cannot parse: ${(err as Error).message}`);
  }
  const map = (json as { weight_map?: unknown })?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new FormatError(indexPath, "weight_map", 0, "missing or not an object");
  }
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== "string" || file !== basename(file) || file === ".." || file === "." || file.includes("\\")) {
      throw new FormatError(indexPath, `weight_map.${name}`, 0, `shard ${JSON.stringify(file)} is not a file name in this folder`);
    }
    weightMap.set(name, file);
    if (!shards.includes(file)) shards.push(file);
  }
  return { shards: shards.sort(), weightMap };
}

function openSharded(indexPath: string, options: OpenTorchOptions): TorchCheckpoint {
  const { shards, weightMap } = readShardIndex(indexPath);
  const dir = dirname(indexPath);
  const files: TorchZipFile[] = [];
  try {
    for (const shard of shards) files.push(openZipFile(join(dir, shard), options));
    const ckpt = new Checkpoint(indexPath, files);
    for (const [name, shard] of weightMap) {
      const info = ckpt.get(name);
      if (!info) throw new FormatError(indexPath, `weight_map.${name}`, 0, `tensor is not in ${shard}`);
      if (basename(info.file) !== shard) {
        throw new FormatError(indexPath, `weight_map.${name}`, 0, `index says ${shard}, the tensor is in ${basename(info.file)}`);
      }
    }
    return ckpt;
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
}
