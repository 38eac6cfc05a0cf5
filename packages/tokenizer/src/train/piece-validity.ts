// TrainerInterface::IsValidSentencePiece (trainer_interface.cc): which candidate pieces a
// trainer may create. A piece is at most max_sentencepiece_length characters, never holds
// ▅ (the trainer's unknown marker), NUL, a tab or a space, keeps ▁ where the whitespace
// options allow it, and stays within one Unicode script (Hiragana and Katakana count as
// Han, combining marks take the previous script, digits may join anything unless split).

import { SCRIPT_NAMES, SCRIPT_RANGES } from "./unicode-script-ranges.js";

export const WS_CHAR = 0x2581; // ▁
export const UNK_CHAR = 0x2585; // ▅
export const UPP_BOUNDARY_CHAR = 0x09; // tab: where meta pieces stood in the text

export interface PieceRules {
  readonly maxSentencepieceLength: number;
  readonly splitByUnicodeScript: boolean;
  readonly splitByNumber: boolean;
  readonly splitByWhitespace: boolean;
  readonly splitDigits: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  readonly allowWhitespaceOnlyPieces: boolean;
}

const HAN = SCRIPT_NAMES.indexOf("Han");
const HIRAGANA = SCRIPT_NAMES.indexOf("Hiragana");
const KATAKANA = SCRIPT_NAMES.indexOf("Katakana");
const INHERITED = SCRIPT_NAMES.indexOf("Inherited");
const ANY = -1;

/** SentencePiece's script of a code point (Common, index 0, where its table has none). */
export function scriptOf(c: number): number {
  let lo = 0;
  let hi = SCRIPT_RANGES.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (c < SCRIPT_RANGES[3 * mid]) hi = mid - 1;
    else if (c > SCRIPT_RANGES[3 * mid + 1]) lo = mid + 1;
    else return SCRIPT_RANGES[3 * mid + 2];
  }
  return 0;
}

const scriptCache = new Map<number, number>();
function cachedScript(c: number): number {
  let s = scriptCache.get(c);
  if (s === undefined) {
    s = scriptOf(c);
    scriptCache.set(c, s);
  }
  return s;
}

function isDecimal(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0xff10 && c <= 0xff19);
}

function isValidCodepoint(c: number): boolean {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/** Whether `chars` (code points) may become a piece. */
export function isValidPiece(chars: readonly number[], r: PieceRules): boolean {
  const n = chars.length;
  if (n === 0 || n > r.maxSentencepieceLength) return false;
  let prevScript = ANY;
  let allWhitespace = true;
  for (const c of chars) if (c !== WS_CHAR) allWhitespace = false;
  for (let pos = 0; pos < n; pos++) {
    const c = chars[pos];
    if (c === UNK_CHAR || c === 0 || c === UPP_BOUNDARY_CHAR || c === 0x20 || !isValidCodepoint(c)) return false;
    if (c === WS_CHAR) {
      if (!r.allowWhitespaceOnlyPieces || !allWhitespace) {
        if (r.treatWhitespaceAsSuffix) {
          if ((r.splitByWhitespace && pos < n - 1) || (!r.splitByWhitespace && pos < n - 1 && pos === 0)) return false;
        } else if ((r.splitByWhitespace && pos > 0) || (!r.splitByWhitespace && pos > 0 && pos === n - 1)) {
          return false;
        }
      }
    } else {
      let s = cachedScript(c);
      if (s === HIRAGANA || s === KATAKANA || c === 0x30fc) s = HAN;
      else if (s === INHERITED) s = prevScript;
      if (!r.splitByNumber && isDecimal(c)) s = ANY;
      if (r.splitDigits && isDecimal(c) && n > 1) return false;
      if (r.splitByUnicodeScript && s !== ANY && prevScript !== ANY && prevScript !== s) return false;
      prevScript = s;
    }
  }
  return true;
}
