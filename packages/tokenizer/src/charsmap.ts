// SentencePiece's precompiled character map (normalizer_spec.precompiled_charsmap, e.g. the
// `nmt_nfkc` rules): <u32 trie size><darts-clone double-array trie><NUL-separated
// replacement strings>. The trie maps UTF-8 byte sequences to an offset into the strings;
// at each input position the LONGEST matching sequence is replaced (normalizer.cc,
// Normalizer::NormalizePrefix). Scope: lookup only; building a map is not needed.

import { FormatError } from "@llamats/tensor";
import { decodeAt } from "./utf8.js";

/** darts-clone DoubleArrayUnit::offset() */
function offset(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

export class PrecompiledCharsmap {
  // (nUnits) darts-clone units
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly cache = new Map<number, string>();

  constructor(blob: Uint8Array, file = "<normalizer_spec>") {
    if (blob.length < 4) throw new FormatError(file, "normalizer_spec.precompiled_charsmap", 0, "shorter than its 4-byte header");
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || 4 + trieSize > blob.length) {
      throw new FormatError(file, "normalizer_spec.precompiled_charsmap", 0, `trie size ${trieSize} does not fit in ${blob.length} bytes`);
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.strings = blob.slice(4 + trieSize);
    if (this.units.length === 0) throw new FormatError(file, "normalizer_spec.precompiled_charsmap", 4, "empty trie");
  }

  /** Longest match at bytes[pos..end): [replacement offset, matched length], or null. */
  private longestMatch(bytes: Uint8Array, pos: number, end: number): [number, number] | null {
    const u = this.units;
    let nodePos = 0;
    let unit = u[0];
    nodePos ^= offset(unit);
    let best: [number, number] | null = null;
    for (let i = pos; i < end; i++) {
      const c = bytes[i];
      nodePos ^= c;
      if (nodePos >= u.length) return best;
      unit = u[nodePos];
      if ((unit & ((1 << 31) | 0xff)) >>> 0 !== c) return best;
      nodePos ^= offset(unit);
      if (nodePos >= u.length) return best;
      if ((unit >>> 8) & 1) best = [u[nodePos] & 0x7fffffff, i + 1 - pos];
    }
    return best;
  }

  private replacement(offset: number): string {
    let s = this.cache.get(offset);
    if (s === undefined) {
      let e = offset;
      while (e < this.strings.length && this.strings[e] !== 0) e++;
      s = new TextDecoder().decode(this.strings.subarray(offset, e));
      this.cache.set(offset, s);
    }
    return s;
  }

  /**
   * Normalises the character(s) at bytes[pos]: returns the replacement text and how many
   * bytes it consumed (an unmapped character is copied; a malformed byte becomes U+FFFD).
   */
  normalizePrefix(bytes: Uint8Array, pos: number, end: number): [string, number] {
    const m = this.longestMatch(bytes, pos, end);
    if (m) return [this.replacement(m[0]), m[1]];
    const { cp, len } = decodeAt(bytes, pos, end);
    return cp < 0 ? ["\uFFFD", 1] : [String.fromCodePoint(cp), len];
  }
}
