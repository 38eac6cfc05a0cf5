// SentencePiece's Normalizer for models without a precompiled character map (LLaMA's
// `identity`): optional removal of extra spaces, the dummy `▁` prefix (or suffix with
// treat_whitespace_as_suffix), and ' ' -> '▁'. Only ASCII space is whitespace here, exactly
// as in normalizer.cc. Lone UTF-16 surrogates become U+FFFD (what UTF-8 encoding does;
// SentencePiece maps malformed UTF-8 to U+FFFD too). User-defined pieces are left intact.

import type { NormalizerFlags } from "./vocab.js";

export const SPACE_SYMBOL = "\u2581"; // ▁

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ANY_SURROGATE = /[\uD800-\uDFFF]/;

export function toWellFormed(text: string): string {
  return ANY_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, "\uFFFD") : text;
}

export function normalize(text: string, flags: NormalizerFlags): string {
  text = toWellFormed(text);
  const space = flags.escapeWhitespaces ? SPACE_SYMBOL : " ";
  if (flags.removeExtraWhitespaces) {
    // Leading and trailing spaces go, inner runs collapse to one.
    text = text.replace(/^ +| +$/g, "").replace(/ {2,}/g, " ");
  }
  if (text.length === 0) return "";
  let body = flags.escapeWhitespaces ? text.replaceAll(" ", SPACE_SYMBOL) : text;
  if (flags.addDummyPrefix) body = flags.treatWhitespaceAsSuffix ? body + space : space + body;
  return body;
}
