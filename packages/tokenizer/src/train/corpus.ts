// Reading the corpus as TrainerInterface::LoadSentences does, streaming: lines are read
// from each file in order (std::getline: split at '\n', nothing else stripped); empty
// lines, lines longer than max_sentence_length bytes and lines holding ▅ are skipped; with
// input_sentence_size > 0 a reservoir sample of that many lines is kept (std::mt19937 with
// spm_train's fixed seed 12345678 unless another is given). Each kept line is normalised,
// meta pieces (<unk>, <s>, </s>, user-defined symbols, byte pieces) become a tab, and the
// result is split into words before each ▁ and counted, so memory grows with the number of
// distinct words, not with the corpus.

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import type { PrecompiledCharsmap } from "../charsmap.js";
import { normalizeBytes } from "../normalize-charsmap.js";
import { SPACE_SYMBOL } from "../normalize.js";
import type { NormalizerFlags } from "../vocab.js";
import { ReservoirSampler } from "./std-random.js";

export interface CorpusReadOptions {
  readonly inputs: readonly string[];
  readonly maxSentenceLength: number;
  readonly inputSentenceSize: number;
  readonly seed: number;
  readonly flags: NormalizerFlags;
  readonly charsmap: PrecompiledCharsmap | null;
  readonly metaPieces: readonly string[];
  /** Bytes read so far of the total. */
  readonly onProgress?: (bytesRead: number, bytesTotal: number) => void;
}

export interface CorpusCounts {
  /** Normalised words and their counts. */
  readonly words: Map<string, number>;
  /** Lines loaded (after the skips), and how many of them were kept (sampling). */
  readonly linesLoaded: number;
  readonly linesKept: number;
  readonly tooLong: number;
}

const UNK_BYTES = [0xe2, 0x96, 0x85]; // ▅

function hasUnkChar(line: Uint8Array): boolean {
  for (let i = 0; i + 2 < line.length; i++) {
    if (line[i] === UNK_BYTES[0] && line[i + 1] === UNK_BYTES[1] && line[i + 2] === UNK_BYTES[2]) return true;
  }
  return false;
}

/** Calls `onLine` for every line of the files, in order, reading 1 MiB at a time. */
export function forEachLine(
  files: readonly string[],
  onLine: (line: Uint8Array) => void,
  onProgress?: (bytesRead: number, bytesTotal: number) => void,
): void {
  let total = 0;
  for (const f of files) {
    try {
      total += statSync(f).size;
    } catch (e) {
      throw new LlamatsError(`cannot read corpus ${f}: ${(e as Error).message}`, { cause: e });
    }
  }
  let done = 0;
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (const f of files) {
    let fd: number;
    try {
      fd = openSync(f, "r");
    } catch (e) {
      throw new LlamatsError(`cannot read corpus ${f}: ${(e as Error).message}`, { cause: e });
    }
    try {
      let carry: Uint8Array = new Uint8Array(0);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        done += n;
        let start = 0;
        for (let i = chunk.indexOf(10, 0); i !== -1 && i < n; i = chunk.indexOf(10, i + 1)) {
          const piece = chunk.subarray(start, i);
          if (carry.length) {
            const joined = new Uint8Array(carry.length + piece.length);
            joined.set(carry);
            joined.set(piece, carry.length);
            onLine(joined);
            carry = new Uint8Array(0);
          } else {
            onLine(piece);
          }
          start = i + 1;
        }
        const rest = chunk.subarray(start, n);
        if (rest.length) {
          const joined = new Uint8Array(carry.length + rest.length);
          joined.set(carry);
          joined.set(rest, carry.length);
          carry = joined;
        }
        onProgress?.(done, total);
      }
      if (carry.length) onLine(carry);
    } catch (e) {
      if (e instanceof LlamatsError) throw e;
      throw new LlamatsError(`cannot read corpus ${f}: ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(fd);
    }
  }
}

/** PrefixMatcher::GlobalReplace: the longest meta piece at each character becomes `out`. */
export function makeMetaReplacer(metaPieces: readonly string[], out: string): (s: string) => string {
  const byFirst = new Map<string, string[]>();
  for (const m of metaPieces) {
    const first = String.fromCodePoint(m.codePointAt(0)!);
    const list = byFirst.get(first) ?? [];
    list.push(m);
    byFirst.set(first, list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  const firsts = new Set([...byFirst.keys()]);
  return (s: string): string => {
    let hit = false;
    for (const f of firsts) if (s.includes(f)) hit = true;
    if (!hit) return s;
    let res = "";
    let i = 0;
    while (i < s.length) {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      const list = byFirst.get(ch);
      let matched = 0;
      if (list) for (const m of list) if (s.startsWith(m, i)) { matched = m.length; break; }
      if (matched) {
        res += out;
        i += matched;
      } else {
        res += ch;
        i += ch.length;
      }
    }
    return res;
  };
}

/** SplitIntoWords (model_interface.cc) with whitespace as prefix: a word starts at each ▁. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let start = 0;
  for (let i = s.indexOf(SPACE_SYMBOL, 1); i !== -1; i = s.indexOf(SPACE_SYMBOL, i + 1)) {
    words.push(s.slice(start, i));
    start = i;
  }
  if (start < s.length) words.push(s.slice(start));
  return words;
}

/**
 * Reads, samples and normalises the corpus; `onSentence` receives each normalised,
 * non-empty sentence (the words map is filled with its words when `countWords` is set).
 */
export function loadCorpus(o: CorpusReadOptions, onSentence?: (s: string) => void, countWords = true): CorpusCounts {
  const words = new Map<string, number>();
  const replaceMeta = makeMetaReplacer(o.metaPieces, "\t");
  let kept = 0;
  const take = (line: Uint8Array): void => {
    const s = replaceMeta(normalizeBytes(line, o.flags, o.charsmap));
    if (s.length === 0) return;
    kept++;
    onSentence?.(s);
    if (countWords) for (const w of splitWords(s)) words.set(w, (words.get(w) ?? 0) + 1);
  };
  const sampler = o.inputSentenceSize > 0 ? new ReservoirSampler<Uint8Array>(o.inputSentenceSize, o.seed) : null;
  let loaded = 0;
  let tooLong = 0;
  forEachLine(
    o.inputs,
    (line) => {
      if (line.length === 0) return;
      if (line.length > o.maxSentenceLength) {
        tooLong++;
        return;
      }
      if (hasUnkChar(line)) return;
      loaded++;
      if (sampler) sampler.add(line.slice());
      else take(line);
    },
    o.onProgress,
  );
  if (sampler) for (const line of sampler.sampled) take(line);
  return { words, linesLoaded: loaded, linesKept: kept, tooLong };
}
