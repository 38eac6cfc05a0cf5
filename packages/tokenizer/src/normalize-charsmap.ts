// SentencePiece's Normalizer::Normalize (normalizer.cc) on UTF-8 bytes: the precompiled
// character map (`nmt_nfkc`), when there is one, is applied longest-match-first; without
// one each character is copied (a malformed byte becomes U+FFFD). Then leading, trailing
// and repeated spaces are dropped (remove_extra_whitespaces), the dummy prefix is added and
// ' ' becomes '▁' — the same order and rules as normalizer.cc. The trainer normalises its
// corpus with this too.

import type { PrecompiledCharsmap } from "./charsmap.js";
import { SPACE_SYMBOL, toWellFormed } from "./normalize.js";
import { decodeAt } from "./utf8.js";
import type { NormalizerFlags } from "./vocab.js";

const encoder = new TextEncoder();

/** One character at bytes[pos] copied as is, or U+FFFD for one malformed byte. */
function copyPrefix(bytes: Uint8Array, pos: number, end: number): [string, number] {
  const b = bytes[pos];
  if (b < 0x80) return [String.fromCharCode(b), 1];
  const { cp, len } = decodeAt(bytes, pos, end);
  return cp < 0 ? ["\uFFFD", 1] : [String.fromCodePoint(cp), len];
}

export function normalizeWithCharsmap(text: string, flags: NormalizerFlags, charsmap: PrecompiledCharsmap): string {
  return normalizeBytes(encoder.encode(toWellFormed(text)), flags, charsmap);
}

/** Normalises bytes[0..end); `charsmap` null means no character map (e.g. `identity`). */
export function normalizeBytes(
  bytes: Uint8Array,
  flags: NormalizerFlags,
  charsmap: PrecompiledCharsmap | null,
  end = bytes.length,
): string {
  const n = end;
  const prefix = charsmap
    ? (p: number): [string, number] => charsmap.normalizePrefix(bytes, p, n)
    : (p: number): [string, number] => copyPrefix(bytes, p, n);
  const space = flags.escapeWhitespaces ? SPACE_SYMBOL : " ";
  let pos = 0;
  if (flags.removeExtraWhitespaces) {
    while (pos < n) {
      const [s, used] = prefix(pos);
      if (s !== " ") break;
      pos += used;
    }
  }
  if (pos >= n) return "";
  let out = "";
  if (flags.addDummyPrefix && !flags.treatWhitespaceAsSuffix) out += space;
  let isPrevSpace = flags.removeExtraWhitespaces;
  while (pos < n) {
    const [raw, used] = prefix(pos);
    pos += used;
    let s = raw;
    if (isPrevSpace) {
      let k = 0;
      while (k < s.length && s.charCodeAt(k) === 0x20) k++;
      s = s.slice(k);
    }
    if (s.length === 0) continue;
    out += flags.escapeWhitespaces ? s.replaceAll(" ", SPACE_SYMBOL) : s;
    // Only with remove_extra_whitespaces does a trailing space swallow the next ones.
    isPrevSpace = flags.removeExtraWhitespaces && s.endsWith(" ");
  }
  if (flags.removeExtraWhitespaces) {
    while (out.endsWith(space)) out = out.slice(0, out.length - space.length);
  }
  // The suffix comes after the trailing spaces are dropped, as in normalizer.cc.
  if (flags.addDummyPrefix && flags.treatWhitespaceAsSuffix) out += space;
  return out;
}
