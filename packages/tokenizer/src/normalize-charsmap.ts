// SentencePiece's Normalizer::Normalize for models with a precompiled character map
// (`nmt_nfkc`): the map is applied longest-match-first on UTF-8 bytes, then leading,
// trailing and repeated spaces are dropped (remove_extra_whitespaces), the dummy prefix is
// added and ' ' becomes '▁' — the same order and rules as normalizer.cc.

import type { PrecompiledCharsmap } from "./charsmap.js";
import { SPACE_SYMBOL, toWellFormed } from "./normalize.js";
import type { NormalizerFlags } from "./vocab.js";

const encoder = new TextEncoder();

export function normalizeWithCharsmap(text: string, flags: NormalizerFlags, charsmap: PrecompiledCharsmap): string {
  const bytes = encoder.encode(toWellFormed(text));
  const n = bytes.length;
  const space = flags.escapeWhitespaces ? SPACE_SYMBOL : " ";
  let pos = 0;
  if (flags.removeExtraWhitespaces) {
    while (pos < n) {
      const [s, used] = charsmap.normalizePrefix(bytes, pos, n);
      if (s !== " ") break;
      pos += used;
    }
  }
  if (pos >= n) return "";
  let out = "";
  if (flags.addDummyPrefix && !flags.treatWhitespaceAsSuffix) out += space;
  let isPrevSpace = flags.removeExtraWhitespaces;
  while (pos < n) {
    const [raw, used] = charsmap.normalizePrefix(bytes, pos, n);
    pos += used;
    let s = raw;
    if (isPrevSpace) {
      let k = 0;
      while (k < s.length && s.charCodeAt(k) === 0x20) k++;
      s = s.slice(k);
    }
    if (s.length === 0) continue;
    out += flags.escapeWhitespaces ? s.replaceAll(" ", SPACE_SYMBOL) : s;
    isPrevSpace = s.endsWith(" ");
  }
  if (flags.addDummyPrefix && flags.treatWhitespaceAsSuffix) out += space;
  if (flags.removeExtraWhitespaces) {
    while (out.endsWith(space)) out = out.slice(0, out.length - space.length);
  }
  return out;
}
