// Vocabulary expansion as Chinese-LLaMA's merge_tokenizers.py does it: every piece of the
// second model whose string the first lacks is appended, in file order, as
// SentencePiece{piece, score = 0} (type left unset, i.e. NORMAL); the first model's trainer
// and normaliser specs are kept. Encoding the result reproduces the published
// Chinese-LLaMA tokenizer.model byte for byte; `addPad` appends "[PAD]" the same way, as the
// Chinese-Alpaca tokenizer has it.

import type { ModelProto, SentencePiece } from "./proto/model-proto.js";

export interface MergeOptions {
  /** Append a `[PAD]` piece after the merge (Chinese-Alpaca). */
  readonly addPad?: boolean;
}

export interface MergeResult {
  readonly model: ModelProto;
  /** How many pieces of `add` were appended (without [PAD]). */
  readonly added: number;
}

function appended(piece: string): SentencePiece {
  return { piece, score: 0, type: 1, hasScore: true, hasType: false };
}

export function mergeVocab(base: ModelProto, add: ModelProto, options: MergeOptions = {}): MergeResult {
  const seen = new Set(base.pieces.map((p) => p.piece));
  const pieces: SentencePiece[] = base.pieces.slice();
  for (const p of add.pieces) {
    if (seen.has(p.piece)) continue;
    seen.add(p.piece);
    pieces.push(appended(p.piece));
  }
  const added = pieces.length - base.pieces.length;
  if (options.addPad && !seen.has("[PAD]")) pieces.push(appended("[PAD]"));
  return { model: { ...base, pieces }, added };
}
