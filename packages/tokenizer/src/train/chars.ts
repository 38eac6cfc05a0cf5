// Character coverage (TrainerInterface::LoadSentences): characters are counted over the
// normalised corpus; taken most frequent first (ties: smaller code point), they become
// "required" until the share of the corpus they cover reaches character_coverage (compared
// in float, as the original does). The tab that stands for meta pieces counts toward the
// coverage but is never required. Every other character is rare and becomes ▅.

import { UNK_CHAR, UPP_BOUNDARY_CHAR } from "./piece-validity.js";
import { sortedByCount } from "./bpe-trainer.js";

export interface Coverage {
  /** Required characters and their counts. */
  readonly required: Map<number, number>;
  readonly allChars: number;
  readonly covered: number;
}

/** Adds the characters of `s` (weighted by `count`) to `counts`; returns how many were counted. */
export function countChars(s: string, count: number, counts: Map<number, number>): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0 || c === 0x20) continue;
    counts.set(c, (counts.get(c) ?? 0) + count);
    n += count;
  }
  return n;
}

export function requiredChars(counts: ReadonlyMap<number, number>, allChars: number, characterCoverage: number): Coverage {
  const threshold = Math.fround(characterCoverage);
  const required = new Map<number, number>();
  let accumulated = 0;
  for (const [c, n] of sortedByCount(counts)) {
    const coverage = Math.fround(accumulated / allChars);
    if (coverage >= threshold) break;
    accumulated += n;
    if (c === UPP_BOUNDARY_CHAR) continue;
    required.set(c, n);
  }
  return { required, allChars, covered: accumulated };
}

/** `s` with every character that is not required replaced by ▅. */
export function replaceRare(s: string, required: ReadonlyMap<number, number>): string {
  let out = "";
  let changed = false;
  for (const ch of s) {
    if (required.has(ch.codePointAt(0)!)) out += ch;
    else {
      out += String.fromCodePoint(UNK_CHAR);
      changed = true;
    }
  }
  return changed ? out : s;
}
