// Decoding ids to text exactly as SentencePiece's DecodeIds: control pieces vanish, the unk
// id shows the unk surface (" ⁇ "), a run of consecutive byte pieces is decoded as UTF-8
// with one U+FFFD per malformed byte, '▁' becomes ' ', and while no visible text has been
// produced yet (with add_dummy_prefix) a piece's leading '▁' is dropped — once.
// StreamingDecoder produces the same text token by token, holding back the bytes of an
// unfinished multi-byte character.

import { LlamatsError } from "@llamats/tensor";
import { decodeUtf8Prefix, decodeUtf8Sp } from "./utf8.js";
import { SPACE_SYMBOL } from "./normalize.js";
import type { Vocab } from "./vocab.js";

export class StreamingDecoder {
  private atBos: boolean;
  private pending: number[] = []; // bytes of the current byte-piece run not yet emitted

  constructor(private readonly vocab: Vocab) {
    const nz = vocab.normalizer;
    this.atBos = (nz.addDummyPrefix || nz.removeExtraWhitespaces) && !nz.treatWhitespaceAsSuffix;
  }

  /** Feeds one id; returns the text it completes (possibly ""). */
  push(id: number): string {
    const v = this.vocab;
    if (!Number.isInteger(id) || id < 0 || id >= v.size) {
      throw new LlamatsError(`token id ${id} is outside the vocabulary (${v.size} pieces)`);
    }
    const b = v.byteOfId[id];
    if (b >= 0) {
      this.pending.push(b);
      this.atBos = false; // a byte run always decodes to visible text
      const { text, consumed } = decodeUtf8Prefix(this.pending, 0, this.pending.length);
      if (consumed > 0) this.pending.splice(0, consumed);
      return text;
    }
    let out = this.flush();
    out += this.pieceSurface(id);
    return out;
  }

  /** Records that visible text was produced elsewhere (batch decoding of a byte run). */
  markVisible(): void {
    this.atBos = false;
  }

  /** Ends the stream: whatever bytes are held become U+FFFD. */
  flush(): string {
    if (this.pending.length === 0) return "";
    const text = decodeUtf8Sp(this.pending);
    this.pending.length = 0;
    return text;
  }

  private pieceSurface(id: number): string {
    const v = this.vocab;
    if (v.isControl(id)) return "";
    if (v.isUnknown(id)) {
      this.atBos = false;
      return v.unkSurface;
    }
    let piece = v.pieces[id];
    let consumedBosWs = false;
    if (this.atBos && piece.startsWith(SPACE_SYMBOL)) {
      piece = piece.slice(SPACE_SYMBOL.length);
      // With remove_extra_whitespaces every leading space goes, not just one.
      consumedBosWs = !v.normalizer.removeExtraWhitespaces;
    }
    const surface = piece.replaceAll(SPACE_SYMBOL, " ");
    if (this.atBos && (surface.length > 0 || consumedBosWs)) this.atBos = false;
    return surface;
  }
}

/** Batch decoding: each run of byte pieces is decoded as a whole (no hold-back logic). */
export function decodeIds(vocab: Vocab, ids: ArrayLike<number>): string {
  const surfaceOf = new StreamingDecoder(vocab); // used for non-byte pieces only
  let out = "";
  for (let i = 0; i < ids.length; ) {
    if (vocab.byteOfId[ids[i]] >= 0 && ids[i] < vocab.size) {
      const run: number[] = [];
      while (i < ids.length && ids[i] >= 0 && ids[i] < vocab.size && vocab.byteOfId[ids[i]] >= 0) run.push(vocab.byteOfId[ids[i++]]);
      out += decodeUtf8Sp(run);
      surfaceOf.markVisible();
      continue;
    }
    out += surfaceOf.push(ids[i++]);
  }
  return out;
}
