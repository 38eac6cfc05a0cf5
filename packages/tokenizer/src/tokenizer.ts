// Tokenizer: an immutable Vocab plus per-call encoder state. encode() = normalise -> BPE
// (bpe.ts) -> ids, with SentencePiece's post-processing: an unknown piece becomes its UTF-8
// bytes as <0xNN> pieces when byte fallback is on, otherwise one unk id (a run of unknown
// pieces collapses into one, as SentencePieceProcessor::Encode does).

import { LlamatsError } from "@llamats/tensor";
import { BpeEncoder } from "./bpe.js";
import { decodeIds, StreamingDecoder } from "./decode.js";
import { normalize } from "./normalize.js";
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

  /** SentencePiece ids of `text`. Only BPE models encode (any model decodes). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const v = this.vocab;
    if (v.modelType !== ModelType.BPE) {
      throw new LlamatsError(
        `only SentencePiece BPE models can encode (model_type ${v.modelType}; 1 = unigram, 2 = BPE)`,
      );
    }
    const ids: number[] = [];
    if (options.bos) ids.push(v.bosId);
    const normalized = normalize(text, v.normalizer);
    if (normalized.length > 0) {
      const sym = (this.encoder ??= new BpeEncoder(v));
      sym.segment(normalized);
      const outId = sym.outId;
      let prevUnk = false;
      for (let k = 0; k < sym.count; k++) {
        const id = outId[k];
        const isUnk = id === v.unkId;
        if (isUnk && v.byteFallback) {
          for (const b of utf8Bytes(normalized.substring(sym.outStart[k], sym.outEnd[k]))) ids.push(v.byteIds[b]);
        } else if (!(isUnk && prevUnk)) {
          ids.push(id);
        }
        prevUnk = isUnk;
      }
    }
    if (options.eos) ids.push(v.eosId);
    return ids;
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
