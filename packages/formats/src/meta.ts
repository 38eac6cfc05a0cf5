// Meta's LLaMA checkpoints: a folder with `params.json` and `consolidated.NN.pth` (torch.save
// zips), one per model-parallel rank (7B 1, 13B 2, 33B 4, 65B 8). Each rank holds a slice of
// every tensor, cut the way FairScale's parallel layers cut them (CHINESE-LLAMA-ALPACA.md §3.3):
//   tok_embeddings  dim 1 (ParallelEmbedding, equal parts)
//   output          dim 0 (ColumnParallelLinear; the Chinese merge script allows an uneven
//                   split: [V // n] * n with the remainder in the last part)
//   wq wk wv w1 w3  dim 0 (ColumnParallelLinear)      wo w2  dim 1 (RowParallelLinear)
//   norms, rope.freqs  replicated in every shard
// Reading re-joins the slices lazily, tensor by tensor; writing cuts them the same way.
// Names stay Meta's (`layers.N.attention.wq.weight`); canonicalFromMeta/metaFromCanonical
// in names.ts map them. Meta's wq/wk rows are already in the interleaved RoPE layout.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { FormatError, LlamatsError, writeAtomically, type ProgressCallback } from "@llamats/tensor";
import { openTorchCheckpoint } from "./torch/checkpoint.js";
import { torchElementBytes } from "./torch/dtype.js";
import type { OpenTorchOptions, TorchCheckpoint, TorchDType, TorchTensorInput } from "./torch/types.js";
import { writeTorchFiles } from "./torch/writer.js";

/** params.json as Meta writes it (extra keys of later models are kept as read). */
export interface MetaParams {
  dim: number;
  n_heads: number;
  n_layers: number;
  norm_eps: number;
  multiple_of?: number;
  vocab_size?: number; // -1 in Meta's files: the tokenizer decides
  n_kv_heads?: number;
  ffn_dim_multiplier?: number;
  rope_theta?: number;
  [key: string]: unknown;
}

/** How a tensor is cut across model-parallel shards: along a dimension, or replicated. */
export type MetaSplit = 0 | 1 | "replicated";

/** The split of a Meta tensor name; undefined for names Meta does not shard by a known rule. */
export function metaShardSplit(name: string): MetaSplit | undefined {
  if (name === "tok_embeddings.weight") return 1;
  if (name === "output.weight") return 0;
  if (name === "norm.weight" || name === "rope.freqs") return "replicated";
  const m = /^layers\.\d+\.(.+)\.weight$/.exec(name);
  if (!m) return undefined;
  switch (m[1]) {
    case "attention_norm": case "ffn_norm": return "replicated";
    case "attention.wq": case "attention.wk": case "attention.wv": case "feed_forward.w1": case "feed_forward.w3": return 0;
    case "attention.wo": case "feed_forward.w2": return 1;
    default: return undefined;
  }
}

/** Sizes of the n parts of a dimension of `size`: equal, except `output.weight`'s last part
 *  takes the remainder ([V // n] * n + V % n, as the Chinese-LLaMA merge script cuts 49953). */
export function metaPartSizes(name: string, size: number, nShards: number): number[] {
  const base = Math.floor(size / nShards);
  const rest = size - base * nShards;
  if (rest !== 0 && name !== "output.weight") {
    throw new LlamatsError(`${name}: dimension ${size} does not split into ${nShards} equal shards`);
  }
  const parts = new Array<number>(nShards).fill(base);
  parts[nShards - 1] += rest;
  return parts;
}

export interface MetaTensorInfo {
  readonly name: string;
  readonly dtype: TorchDType;
  /** The whole (re-joined) shape. */
  readonly shape: readonly number[];
  readonly byteLength: number;
  readonly split: MetaSplit;
}

export interface MetaCheckpoint {
  readonly path: string;
  readonly params: MetaParams;
  readonly nShards: number;
  /** In the order of shard 0's state dict. */
  readonly tensors: readonly MetaTensorInfo[];
  get(name: string): MetaTensorInfo | undefined;
  /** The whole tensor's bytes, contiguous row-major, re-joined from every shard. */
  read(name: string, dst?: Uint8Array): Uint8Array;
  close(): void;
}

/** Parse and check params.json (the fields a LLaMA needs, as positive numbers). */
export function readMetaParams(path: string): MetaParams {
  let p: unknown;
  try {
    p = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new FormatError(path, "json", 0, `cannot parse: ${(err as Error).message}`);
  }
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new FormatError(path, "params", 0, "not a JSON object");
  const params = p as MetaParams;
  for (const key of ["dim", "n_heads", "n_layers"] as const) {
    if (!Number.isSafeInteger(params[key]) || params[key] <= 0) throw new FormatError(path, key, 0, `must be a positive integer, got ${JSON.stringify(params[key])}`);
  }
  if (typeof params.norm_eps !== "number" || !(params.norm_eps > 0)) throw new FormatError(path, "norm_eps", 0, "must be a positive number");
  return params;
}

/** The consolidated.NN.pth files of a folder, checked to be 00 .. n-1. */
export function metaShardFiles(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => /^consolidated\.\d{2}\.pth$/.test(f)).sort();
  if (files.length === 0) throw new FormatError(dir, "consolidated.*.pth", 0, "no consolidated.NN.pth in this folder");
  files.forEach((f, i) => {
    if (f !== `consolidated.${String(i).padStart(2, "0")}.pth`) {
      throw new FormatError(join(dir, f), "shard number", 0, `expected consolidated.${String(i).padStart(2, "0")}.pth: shards must be numbered 00 .. ${files.length - 1}`);
    }
  });
  return files.map((f) => join(dir, f));
}

interface JoinedTensor {
  info: MetaTensorInfo;
  /** Shape of the part in each shard. */
  partShapes: (readonly number[])[];
}

class MetaModel implements MetaCheckpoint {
  readonly tensors: MetaTensorInfo[] = [];
  private readonly byName = new Map<string, JoinedTensor>();

  constructor(readonly path: string, readonly params: MetaParams, private readonly shards: TorchCheckpoint[]) {
    const first = shards[0];
    for (const t of first.tensors) {
      const parts = shards.map((s) => s.get(t.name));
      const split = shards.length === 1 ? "replicated" : metaShardSplit(t.name);
      parts.forEach((p, i) => {
        if (!p) throw new FormatError(shards[i].path, t.name, 0, `tensor is in ${first.path} but not in this shard`);
        if (p.dtype !== t.dtype) throw new FormatError(shards[i].path, t.name, 0, `dtype ${p.dtype} differs from shard 0's ${t.dtype}`);
        if (p.shape.length !== t.shape.length) throw new FormatError(shards[i].path, t.name, 0, "rank differs from shard 0's");
      });
      if (split === undefined) throw new FormatError(first.path, t.name, 0, "unknown tensor: cannot tell how it is split across shards");
      const partShapes = parts.map((p) => p!.shape);
      const shape = [...t.shape];
      if (split !== "replicated") {
        if (split >= shape.length) throw new FormatError(first.path, t.name, 0, `cannot join ${shape.length}-d tensor along dim ${split}`);
        shape[split] = 0;
        partShapes.forEach((ps, i) => {
          ps.forEach((d, k) => {
            if (k !== split && d !== t.shape[k]) throw new FormatError(shards[i].path, t.name, 0, `shape [${ps.join(", ")}] does not match shard 0's [${t.shape.join(", ")}] off the split dim ${split}`);
          });
          shape[split] += ps[split];
        });
      } else {
        partShapes.forEach((ps, i) => {
          if (ps.some((d, k) => d !== t.shape[k])) throw new FormatError(shards[i].path, t.name, 0, "replicated tensor has another shape in this shard");
        });
      }
      let count = torchElementBytes(t.dtype);
      for (const d of shape) count *= d;
      const info: MetaTensorInfo = { name: t.name, dtype: t.dtype, shape, byteLength: count, split };
      this.tensors.push(info);
      this.byName.set(t.name, { info, partShapes });
    }
    for (let i = 1; i < shards.length; i++) {
      for (const t of shards[i].tensors) {
        if (!this.byName.has(t.name)) throw new FormatError(shards[i].path, t.name, 0, "tensor is not in shard 0");
      }
    }
  }

  get nShards(): number {
    return this.shards.length;
  }

  get(name: string): MetaTensorInfo | undefined {
    return this.byName.get(name)?.info;
  }

  read(name: string, dst?: Uint8Array): Uint8Array {
    const j = this.byName.get(name);
    if (!j) throw new RangeError(`no tensor named ${name} in ${this.path}`);
    const { info, partShapes } = j;
    if (dst && dst.length < info.byteLength) throw new RangeError(`destination holds ${dst.length} bytes, ${name} needs ${info.byteLength}`);
    const out = dst ? dst.subarray(0, info.byteLength) : new Uint8Array(info.byteLength);
    const split = info.split;
    if (split === "replicated") return this.shards[0].read(name, out);
    const eb = torchElementBytes(info.dtype);
    // (outer, shape[split], inner): each part fills a band of every outer row.
    const outer = info.shape.slice(0, split).reduce((a, b) => a * b, 1);
    const inner = info.shape.slice(split + 1).reduce((a, b) => a * b, 1) * eb;
    const rowBytes = info.shape[split] * inner;
    let band = 0;
    this.shards.forEach((shard, s) => {
      const partRow = partShapes[s][split] * inner;
      if (split === 0) shard.read(name, out.subarray(band, band + partRow * outer));
      else {
        const part = shard.read(name);
        for (let r = 0; r < outer; r++) out.set(part.subarray(r * partRow, (r + 1) * partRow), r * rowBytes + band);
      }
      band += partRow;
    });
    return out;
  }

  close(): void {
    for (const s of this.shards) s.close();
  }
}

/** Open a Meta checkpoint folder (params.json + consolidated.NN.pth), or one .pth file. */
export function openMetaCheckpoint(path: string, options: OpenTorchOptions = {}): MetaCheckpoint {
  if (!existsSync(path)) throw new FormatError(path, "path", 0, "no such file or folder");
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : join(path, "..");
  const paramsPath = join(dir, "params.json");
  if (!existsSync(paramsPath)) throw new FormatError(dir, "params.json", 0, "a Meta checkpoint needs params.json beside consolidated.*.pth");
  const params = readMetaParams(paramsPath);
  const files = isDir ? metaShardFiles(dir) : [path];
  const shards: TorchCheckpoint[] = [];
  try {
    for (const f of files) shards.push(openTorchCheckpoint(f, options));
    return new MetaModel(path, params, shards);
  } catch (err) {
    for (const s of shards) s.close();
    throw err;
  }
}

/** A float as Python's json.dump writes it (1e-06, 1e-05, 0.0001, 2.0). */
export function pythonFloat(x: number): string {
  if (Number.isInteger(x)) return `${x}.0`;
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 16) {
    const [m, e] = x.toExponential().split("e");
    const en = Number(e);
    return `${m}e${en < 0 ? "-" : "+"}${String(Math.abs(en)).padStart(2, "0")}`;
  }
  return String(x);
}

/**
 * The multiple_of that makes Meta's FeedForward formula (`multiple_of * ceil(int(8 * dim / 3) /
 * multiple_of)`) give the ffn width `ffn`: 256 for the published models, smaller for small
 * ones; undefined when no power of two up to 256 does.
 */
export function multipleOfFor(dim: number, ffn: number): number | undefined {
  for (let m = 256; m >= 1; m /= 2) {
    if (m * Math.ceil(Math.floor((8 * dim) / 3) / m) === ffn) return m;
  }
  return undefined;
}

/** params.json text in Python's json.dump style: `{"dim": 4096, "multiple_of": 256, ...}`. */
export function formatMetaParams(params: MetaParams): string {
  const floats = new Set(["norm_eps", "ffn_dim_multiplier", "rope_theta"]);
  const body = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}: ${typeof v === "number" && floats.has(k) ? pythonFloat(v) : JSON.stringify(v)}`);
  return `{${body.join(", ")}}`;
}

export interface WriteMetaOptions {
  /** Model-parallel shards (1 for 7B, 2 for 13B, 4 for 33B, 8 for 65B). Default 1. */
  nShards?: number;
  onProgress?: ProgressCallback;
}

/** Cut a whole tensor's bytes into its n shard parts (see metaShardSplit / metaPartSizes). */
export function splitMetaTensor(name: string, dtype: TorchDType, shape: readonly number[], bytes: Uint8Array,
  nShards: number): { shapes: number[][]; parts: Uint8Array[] } {
  const split = nShards === 1 ? "replicated" : metaShardSplit(name);
  if (split === undefined) throw new LlamatsError(`${name}: unknown tensor, cannot tell how to split it across shards`);
  if (split === "replicated") return { shapes: Array.from({ length: nShards }, () => [...shape]), parts: new Array(nShards).fill(bytes) };
  if (split >= shape.length) throw new LlamatsError(`${name}: cannot split a ${shape.length}-d tensor along dim ${split}`);
  const sizes = metaPartSizes(name, shape[split], nShards);
  const eb = torchElementBytes(dtype);
  const outer = shape.slice(0, split).reduce((a, b) => a * b, 1);
  const inner = shape.slice(split + 1).reduce((a, b) => a * b, 1) * eb;
  const rowBytes = shape[split] * inner;
  const shapes: number[][] = [];
  const parts: Uint8Array[] = [];
  let band = 0;
  for (const size of sizes) {
    const partRow = size * inner;
    const part = new Uint8Array(partRow * outer);
    for (let r = 0; r < outer; r++) part.set(bytes.subarray(r * rowBytes + band, r * rowBytes + band + partRow), r * partRow);
    band += partRow;
    const s = [...shape];
    s[split] = size;
    shapes.push(s);
    parts.push(part);
  }
  return { shapes, parts };
}

/**
 * Write a Meta checkpoint into `dir`: consolidated.00.pth .. consolidated.(n-1).pth (each
 * tensor computed once and cut into its n parts) and params.json. Tensors carry Meta names
 * and whole shapes, wq/wk in the interleaved layout.
 */
export function writeMetaCheckpoint(dir: string, params: MetaParams, tensors: readonly TorchTensorInput[],
  options: WriteMetaOptions = {}): string[] {
  const n = options.nShards ?? 1;
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new LlamatsError(`shard count must be 1..64, got ${n}`);
  const shapesPerFile: number[][][] = Array.from({ length: n }, () => []);
  for (const t of tensors) {
    const split = n === 1 ? "replicated" : metaShardSplit(t.name);
    if (split === undefined) throw new LlamatsError(`${t.name}: unknown tensor, cannot tell how to split it across shards`);
    for (let s = 0; s < n; s++) {
      const shape = [...t.shape];
      if (split !== "replicated") {
        if (split >= shape.length) throw new LlamatsError(`${t.name}: cannot split a ${shape.length}-d tensor along dim ${split}`);
        shape[split] = metaPartSizes(t.name, t.shape[split], n)[s];
      }
      shapesPerFile[s].push(shape);
    }
  }
  const files = shapesPerFile.map((shapes, s) => ({ path: join(dir, `consolidated.${String(s).padStart(2, "0")}.pth`), shapes }));
  writeTorchFiles(files, tensors.map((t) => ({ name: t.name, dtype: t.dtype })), (i) => {
    const t = tensors[i];
    const bytes = typeof t.data === "function" ? t.data() : t.data;
    return splitMetaTensor(t.name, t.dtype, t.shape, bytes, n).parts;
  }, options.onProgress);
  writeAtomically(join(dir, "params.json"), (w) => w.write(new TextEncoder().encode(formatMetaParams(params))));
  return [...files.map((f) => f.path), join(dir, "params.json")];
}
