// Resource limits of the readers: how much a file may *claim* before anything is allocated
// for it. Every count and length in a header is checked against the bytes left in the file
// too; these limits add a ceiling that does not grow with the file, so a hostile (or huge,
// sparse) file cannot make a reader allocate gigabytes for metadata. The defaults sit far
// above any real model (a 256k-token vocabulary, 65B-parameter state dicts, 100 MB
// safetensors headers) and can be raised per call (`openGguf(path, { limits })`) or for the
// whole process with LLAMATS_LIMITS="maxArrayItems=50000000,maxStringBytes=1e9".

import { LlamatsError } from "@llamats/tensor";

export interface ReaderLimits {
  /** GGUF n_tensors; safetensors header entries. */
  maxTensors: number;
  /** GGUF n_kv (metadata key/values). */
  maxKv: number;
  /** Items of one GGUF metadata array (a vocabulary is at most a few 100k). */
  maxArrayItems: number;
  /** Bytes of one GGUF string (keys, tokens, chat templates). */
  maxStringBytes: number;
  /** Elements of one tensor (the product of its dimensions). */
  maxTensorElements: number;
  /** Bytes of a safetensors JSON header (the format itself caps it at 100 MB). */
  maxHeaderBytes: number;
  /** Bytes of a torch checkpoint's data.pkl (a 65B state dict's is ~60 KB). */
  maxPickleBytes: number;
  /** Values an unpickler may push in total (list items, dict entries, memo reads). */
  maxPickleValues: number;
}

export const defaultReaderLimits: Readonly<ReaderLimits> = Object.freeze({
  maxTensors: 1 << 20,
  maxKv: 1 << 20,
  maxArrayItems: 1 << 24,
  maxStringBytes: 1 << 26,
  maxTensorElements: 2 ** 40,
  maxHeaderBytes: 100_000_000,
  maxPickleBytes: 64 << 20,
  maxPickleValues: 1 << 22,
});

/** The environment variable that overrides the defaults for the whole process. */
export const LIMITS_ENV = "LLAMATS_LIMITS";

function fromEnv(text: string | undefined): Partial<ReaderLimits> {
  const out: Partial<ReaderLimits> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const m = /^\s*(\w+)\s*=\s*([0-9.eE+]+)\s*$/.exec(part);
    const key = m?.[1] as keyof ReaderLimits | undefined;
    const value = m ? Number(m[2]) : NaN;
    if (!key || !(key in defaultReaderLimits) || !Number.isSafeInteger(value) || value <= 0) {
      throw new LlamatsError(`${LIMITS_ENV}: "${part.trim()}" is not NAME=POSITIVE_INTEGER with NAME one of ${Object.keys(defaultReaderLimits).join(", ")}`);
    }
    out[key] = value;
  }
  return out;
}

/** Defaults, then LLAMATS_LIMITS, then the caller's overrides. */
export function readerLimits(overrides: Partial<ReaderLimits> = {}): ReaderLimits {
  // No process in browsers (@llamats/browser reads GGUF bytes there): defaults and overrides only.
  const env = (globalThis as { process?: NodeJS.Process }).process?.env;
  return { ...defaultReaderLimits, ...fromEnv(env?.[LIMITS_ENV]), ...overrides };
}
