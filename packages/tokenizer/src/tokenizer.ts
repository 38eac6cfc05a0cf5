// Tokenizer: an immutable Vocab plus per-call encoder state. encode() = normalise -> BPE
// (bpe.ts) -> ids, with SentencePiece's post-processing: an unknown piece becomes its UTF-8
// bytes as <0xNN> pieces when byte fallback is on, otherwise one unk id (a run of unknown
// pieces collapses into one, as SentencePieceProcessor::Encode does).

import { LlamatsError } from "@llamats/tensor";
import { BpeEncoder } from "./bpe.js";
import { decodeIds, StreamingDecoder } from "./decode.js";
import { normalize } from "./normalize.js";
import { PrecompiledCharsmap } from "./charsmap.js";
import { normalizeWithCharsmap } from "./normalize-charsmap.js";
import { unigramParams, unigramSegment, type UnigramParams } from "./unigram.js";
import { parseModelProto, type ModelProto } from "./proto/model-proto.js";
import { ModelType } from "./proto/specs.js";
import { utf8Bytes } from "./utf8.js";
import { Vocab } from "./vocab.js";
import { vocabFromGgufMetadata } from "./gguf-metadata.js";

export interface EncodeOptions {
  /** Prepend the BOS id (default false). */
  readonly bos?: boolean;
  /** Append the EOS id (default false). */
  readonly eos?: boolean;
}

export class Tokenizer {
  private encoder: BpeEncoder | null = null; // per-call scratch, reused; built on first encode
  private charsmap: PrecompiledCharsmap | null | undefined; // undefined: not built yet
  private unigram: UnigramParams | null = null;

  constructor(readonly vocab: Vocab) {}

  static fromModelProto(model: ModelProto): Tokenizer {
    return new Tokenizer(Vocab.fromModelProto(model));
  }

  /** Bytes of a `tokenizer.model` file. */
  static fromBytes(bytes: Uint8Array, file?: string): Tokenizer {
    return Tokenizer.fromModelProto(parseModelProto(bytes, file));
  }

  /** GGUF metadata as a GGUF reader returns it (`tokenizer.ggml.*` keys). */
  static fromGguf(metadata: Record<string, unknown>): Tokenizer {
    return new Tokenizer(vocabFromGgufMetadata(metadata));
  }

  get vocabSize(): number {
    return this.vocab.size;
  }
  get bosId(): number {
    return this.vocab.bosId;
  }
  get eosId(): number {
    return this.vocab.eosId;
  }
  get unkId(): number {
    return this.vocab.unkId;
  }
  get padId(): number {
    return this.vocab.padId;
  }

  /** The normalised text SentencePiece segments (▁ for spaces, dummy prefix, char map). */
  normalize(text: string): string {
    const v = this.vocab;
    if (this.charsmap === undefined) {
      this.charsmap = v.precompiledCharsmap.length > 0 ? new PrecompiledCharsmap(v.precompiledCharsmap) : null;
    }
    return this.charsmap ? normalizeWithCharsmap(text, v.normalizer, this.charsmap) : normalize(text, v.normalizer);
  }

  /** SentencePiece ids of `text` (BPE or unigram models). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const v = this.vocab;
    const ids: number[] = [];
    if (options.bos) ids.push(v.bosId);
    const normalized = this.normalize(text);
    if (normalized.length > 0) {
      if (v.modelType === ModelType.BPE) {
        const sym = (this.encoder ??= new BpeEncoder(v));
        sym.segment(normalized);
        this.emit(ids, normalized, sym.outStart, sym.outEnd, sym.outId, sym.count);
      } else if (v.modelType === ModelType.UNIGRAM) {
        const spans = unigramSegment(v, (this.unigram ??= unigramParams(v)), normalized);
        const n = spans.length;
        const start = new Int32Array(n);
        const end = new Int32Array(n);
        const id = new Int32Array(n);
        for (let k = 0; k < n; k++) [start[k], end[k], id[k]] = spans[k];
        this.emit(ids, normalized, start, end, id, n);
      } else {
        throw new LlamatsError(`SentencePiece model_type ${v.modelType} cannot encode (1 = unigram, 2 = BPE are supported)`);
      }
    }
    if (options.eos) ids.push(v.eosId);
    return ids;
  }

  /** SentencePieceProcessor::Encode's post-processing of the model's segmentation. */
  private emit(ids: number[], normalized: string, start: Int32Array, end: Int32Array, symIds: Int32Array, count: number): void {
    const v = this.vocab;
    let prevUnk = false;
    for (let k = 0; k < count; k++) {
      const id = symIds[k];
      const isUnk = id === v.unkId;
      if (isUnk && v.byteFallback) {
        for (const b of utf8Bytes(normalized.substring(start[k], end[k]))) ids.push(v.byteIds[b]);
      } else if (!(isUnk && prevUnk)) {
        ids.push(id);
      }
      prevUnk = isUnk;
    }
  }

  /** The pieces of an encoding (ids -> piece strings). */
  encodeAsPieces(text: string, options: EncodeOptions = {}): string[] {
    return this.encode(text, options).map((id) => this.vocab.pieces[id]);
  }

  decode(ids: ArrayLike<number>): string {
    return decodeIds(this.vocab, ids);
  }

  idToPiece(id: number): string {
    return this.vocab.idToPiece(id);
  }

  pieceToId(piece: string): number {
    return this.vocab.pieceToId(piece);
  }

  /** A fresh streaming decoder (one per generation). */
  streamingDecoder(): StreamingDecoder {
    return new StreamingDecoder(this.vocab);
  }
}
