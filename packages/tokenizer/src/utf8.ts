// UTF-8 as SentencePiece reads it (util.cc DecodeUTF8): a malformed sequence consumes ONE
// byte and becomes one U+FFFD, so [E4 B8] decodes to two U+FFFD (TextDecoder would give
// one, following the WHATWG "maximal subpart" rule). Overlong forms, surrogates and code
// points above U+10FFFF are malformed.

export const REPLACEMENT = "\uFFFD";

function isTrail(b: number): boolean {
  return (b & 0xc0) === 0x80;
}

function isValidCodepoint(c: number): boolean {
  return c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
}

/** Bytes a sequence starting with `lead` needs (1 for ASCII and for bytes that cannot lead). */
export function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1;
}

/**
 * Decodes the character at bytes[pos] given that bytes end at `end`.
 * Returns the code point and its length, or -1 (malformed: consume one byte).
 */
export function decodeAt(bytes: ArrayLike<number>, pos: number, end: number): { cp: number; len: number } {
  const b0 = bytes[pos];
  const avail = end - pos;
  if (b0 < 0x80) return { cp: b0, len: 1 };
  if (avail >= 2 && (b0 & 0xe0) === 0xc0) {
    const b1 = bytes[pos + 1];
    const cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
    if (isTrail(b1) && cp >= 0x80 && isValidCodepoint(cp)) return { cp, len: 2 };
  } else if (avail >= 3 && (b0 & 0xf0) === 0xe0) {
    const b1 = bytes[pos + 1];
    const b2 = bytes[pos + 2];
    const cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    if (isTrail(b1) && isTrail(b2) && cp >= 0x800 && isValidCodepoint(cp)) return { cp, len: 3 };
  } else if (avail >= 4 && (b0 & 0xf8) === 0xf0) {
    const b1 = bytes[pos + 1];
    const b2 = bytes[pos + 2];
    const b3 = bytes[pos + 3];
    const cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
    if (isTrail(b1) && isTrail(b2) && isTrail(b3) && cp >= 0x10000 && isValidCodepoint(cp)) return { cp, len: 4 };
  }
  return { cp: -1, len: 1 };
}

/** A whole byte run -> text, one U+FFFD per malformed byte. */
export function decodeUtf8Sp(bytes: ArrayLike<number>, start = 0, end = bytes.length): string {
  let out = "";
  for (let pos = start; pos < end; ) {
    const { cp, len } = decodeAt(bytes, pos, end);
    out += cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
    pos += len;
  }
  return out;
}

/**
 * Decodes as much of a byte run as can be decided without the bytes still to come: stops
 * before a lead byte whose sequence is incomplete but whose present bytes are all trail
 * bytes. Returns the text and how many bytes it consumed.
 */
export function decodeUtf8Prefix(bytes: ArrayLike<number>, start: number, end: number): { text: string; consumed: number } {
  let out = "";
  let pos = start;
  while (pos < end) {
    const need = sequenceLength(bytes[pos]);
    if (need > end - pos) {
      let allTrail = true;
      for (let k = pos + 1; k < end; k++) allTrail &&= isTrail(bytes[k]);
      if (allTrail) break; // may still complete
    }
    const { cp, len } = decodeAt(bytes, pos, end);
    out += cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
    pos += len;
  }
  return { text: out, consumed: pos - start };
}

/** UTF-8 bytes of a (well-formed) string. */
export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

const encoder = new TextEncoder();
