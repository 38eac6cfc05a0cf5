// The merged model as a canonical ModelSource: the base's tensors (GGUF names, Q/K
// interleaved) where each one, when a writer reads it, is, for each LoRA in order,
// replaced by the adapter's full copy (modules_to_save, `.half()`) and/or merged:
//
//   W16 <- f16( f32(W16) + scale · B·A )            (mergeTensor, merge.ts)
//
// with B's rows in the canonical layout (canonicalLoraRows). Tensors no LoRA touches pass
// through as the base's bytes. The writers (formats, via write-*.ts) do names and layouts;
// they read one tensor at a time, so memory holds one tensor (plus its f32 delta block).

import { f32ToF16, GGMLType, LlamatsError } from "@llamats/tensor";
import type { ModelSource, SourceTensor } from "@llamats/formats";
import { canonicalLoraRows, tensorF32, type Adapter, type HeadCounts } from "./adapter.js";
import { mergeTensor, type LoraFactors } from "./merge.js";

export interface MergeStats {
  tensorsMerged: number;
  tensorsReplaced: number;
  /** Per LoRA: elements whose f16 bits its delta changed. */
  changedPerLora: number[];
  peakRssBytes: number;
}

export interface MergedSourceOptions {
  /** The merged vocabulary (rows of the last replacement token_embd). */
  vocabSize: number;
  /** tokenizer.model the output gets (the last LoRA's that has one, else the base's). */
  tokenizerPath?: string;
  /** Verbose per-tensor log (the seed's --verbose). */
  log?: (line: string) => void;
}

/**
 * Index of the first NaN/Inf in f16 bits (exponent all ones), or -1. Two values per 32-bit
 * word where the bits are 4-byte aligned: a half whose exponent bits are all ones becomes
 * 0x8000 after adding 0x0400 (no carry across halves), any other stays below.
 */
export function firstNonFiniteF16(bits: Uint16Array): number {
  let i = 0;
  if (bits.byteOffset % 4 === 0) {
    const words = new Uint32Array(bits.buffer, bits.byteOffset, bits.length >> 1);
    let w = 0;
    for (; w < words.length; w++) if ((((words[w] & 0x7c007c00) + 0x04000400) & 0x80008000) !== 0) break;
    i = 2 * w;
  }
  for (; i < bits.length; i++) if ((bits[i] & 0x7c00) === 0x7c00) return i;
  return -1;
}

function sampleRss(stats: MergeStats): void {
  const rss = process.memoryUsage.rss();
  if (rss > stats.peakRssBytes) stats.peakRssBytes = rss;
}

/** f16 bits of little-endian bytes, as a fresh array (the merge updates it in place). */
function f16Bits(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length >> 1);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** A base tensor's f16 bits, read into a fresh array (the merge updates it in place): no copy. */
function readF16(base: ModelSource, t: SourceTensor): Uint16Array {
  const out = new Uint16Array(t.byteLength >> 1);
  const dst = asBytes(out);
  const got = base.read(t.name, dst);
  if (got.buffer !== out.buffer || got.byteOffset !== 0) dst.set(got); // a reader that did not fill dst
  return out;
}

/** f16 bits of little-endian bytes, a view where the bytes are aligned (read-only use). */
function f16View(bytes: Uint8Array): Uint16Array {
  return bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1) : f16Bits(bytes);
}

const asBytes = (bits: Uint16Array): Uint8Array => new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);

/**
 * The merge of `adapters` (in order) into `base`, as a ModelSource. `stats` is filled as the
 * tensors are read (each once by a writer).
 */
export function mergedSource(base: ModelSource, adapters: readonly Adapter[], opts: MergedSourceOptions, stats: MergeStats): ModelSource {
  const heads: HeadCounts = { headCount: base.config.headCount ?? 0, headCountKv: base.config.headCountKv };
  const planned = new Map<string, SourceTensor>();
  for (const t of base.tensors) {
    let type = t.type;
    let shape = t.shape;
    for (const a of adapters) {
      const fk = a.plan.full.get(t.name);
      if (fk) {
        type = GGMLType.F16;
        shape = a.byKey.get(fk)!.shape;
      }
      if (a.plan.pairs.has(t.name)) type = GGMLType.F16;
    }
    const byteLength = type === t.type && shape === t.shape ? t.byteLength : 2 * shape.reduce((x, d) => x * d, 1);
    planned.set(t.name, { ...t, type, shape, byteLength });
  }
  const counted = new Set<string>();
  /** Whether LoRA l's replacement of `name` is replaced again by a later LoRA with no delta added in between. */
  const supersededAt = (name: string, l: number): boolean => {
    for (let j = l; j < adapters.length; j++) {
      if (adapters[j]!.plan.pairs.has(name)) return false;
      if (j > l && adapters[j]!.plan.full.has(name)) return true;
    }
    return false;
  };

  const merged = (t: SourceTensor): Uint8Array => {
    const count = !counted.has(t.name);
    counted.add(t.name);
    let type = t.type;
    let shape = t.shape;
    // The current value: f16 bytes of a replacement (passed through as read, no copy), or
    // f16 bits a merge produced; both undefined: still the base's bytes, not read yet.
    let bytes: Uint8Array | undefined;
    let bits: Uint16Array | undefined;
    adapters.forEach((a, l) => {
      const fullKey = a.plan.full.get(t.name);
      if (fullKey) {
        // modules_to_save: the seed does state_dict[k] = lora_sd[key].half(); nothing is resized.
        const ft = a.byKey.get(fullKey)!;
        bits = undefined;
        bytes = undefined;
        if (supersededAt(t.name, l)) {
          // a later LoRA replaces this tensor again before anything is added to it: these
          // bytes cannot reach the output, so they are not read (the Plus/Pro chain would
          // otherwise hold two 49953x4096 embeddings at once)
        } else {
          const raw = canonicalLoraRows(t.name, ft.read(), ft.shape[0], heads);
          bytes = ft.type === GGMLType.F16 ? raw : asBytes(Uint16Array.from(tensorF32(ft, raw), (v) => f32ToF16(v)));
          const bad = firstNonFiniteF16(f16View(bytes));
          if (bad >= 0) throw new LlamatsError(`LoRA ${l + 1} (${a.dir}): ${fullKey} holds NaN/Inf at element ${bad}: the adapter file is corrupt`);
        }
        type = GGMLType.F16;
        shape = ft.shape;
        if (count) stats.tensorsReplaced++;
        opts.log?.(`${a.name}: replace ${t.name} ${JSON.stringify(shape)}`);
      }
      const pair = a.plan.pairs.get(t.name);
      if (pair) {
        const ta = a.byKey.get(pair.a)!;
        const tb = a.byKey.get(pair.b)!;
        const factors: LoraFactors = {
          a: tensorF32(ta), b: tensorF32(tb, canonicalLoraRows(t.name, tb.read(), tb.shape[0], heads)),
          r: a.config.r, scale: a.config.scale, fanInFanOut: a.config.fanInFanOut,
        };
        let w: Uint16Array | Float32Array;
        if (bits) w = bits;
        else if (!bytes && type === GGMLType.F16) w = readF16(base, t); // straight into the buffer the merge updates
        else {
          const cur = bytes ?? base.read(t.name);
          w = type === GGMLType.F16 ? f16Bits(cur) : tensorF32({ key: t.name, type, shape, read: () => cur }, cur);
          bytes = undefined; // let the input go before the merge allocates
        }
        const res = mergeTensor(w, shape[0], shape[1], [factors], t.name, { inPlace: true });
        sampleRss(stats);
        bits = res.f16;
        type = GGMLType.F16;
        if (count) {
          stats.changedPerLora[l] += res.changed[0];
          stats.tensorsMerged++;
        }
        opts.log?.(`${a.name}: merge ${t.name} scale ${a.config.scale}, ${res.changed[0]} elements changed`);
      }
    });
    sampleRss(stats);
    return bits ? asBytes(bits) : (bytes ?? base.read(t.name));
  };

  return {
    format: base.format,
    path: base.path,
    metadata: base.metadata,
    config: { ...base.config, vocabSize: opts.vocabSize },
    tensors: [...planned.values()],
    ...(base.extras ? { extras: base.extras } : {}),
    ...(opts.tokenizerPath ? { tokenizerPath: opts.tokenizerPath } : {}),
    read(name: string, dst?: Uint8Array): Uint8Array {
      const t = base.tensors.find((x) => x.name === name);
      if (!t) throw new LlamatsError(`${base.path}: no tensor named "${name}"`);
      const bytes = merged(t);
      if (!dst) return bytes;
      dst.set(bytes);
      return dst.subarray(0, bytes.length);
    },
    close: () => base.close(),
  };
}
