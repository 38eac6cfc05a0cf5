// llama2.c's `tokenizer.bin` (written by its tokenizer.py `export()`, read by run.c's
// build_tokenizer), the tokenizer of llama2.c checkpoints such as stories260K:
//   int32 max_token_length
//   per token, in id order until the end of the file:
//     float32 score, int32 len, len bytes of UTF-8 (no terminator)
// all little-endian. The export rewrote SentencePiece's pieces: "▁" became " ", BOS was
// written as "\n<s>\n" and EOS as "\n</s>\n"; this reader undoes both, so the vocabulary is
// SentencePiece's again (byte pieces "<0x0A>" are kept as they are) and encodes like the
// tokenizer.model it came from. Piece types are inferred as in GGUF files without them.

import { FormatError, LlamatsError } from "@llamats/tensor";
import { vocabFromGgufMetadata } from "./gguf-metadata.js";
import type { Vocab } from "./vocab.js";

/** A Vocab from tokenizer.bin bytes; FormatError naming the field and offset when they do not parse. */
export function parseLlama2cTokenizer(bytes: Uint8Array, file = "tokenizer.bin"): Vocab {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new FormatError(file, "max_token_length", 0, "file shorter than its 4-byte header");
  const maxLen = dv.getInt32(0, true);
  if (maxLen < 1 || maxLen > 4096) throw new FormatError(file, "max_token_length", 0, `${maxLen} is not a plausible piece length`);
  const tokens: string[] = [];
  const scores: number[] = [];
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a piece may be U+FEFF itself
  let at = 4;
  while (at < bytes.length) {
    const id = tokens.length;
    if (at + 8 > bytes.length) throw new FormatError(file, `token ${id} header`, at, "truncated (want float32 score, int32 length)");
    const score = dv.getFloat32(at, true);
    const len = dv.getInt32(at + 4, true);
    if (len < 0 || len > maxLen) throw new FormatError(file, `token ${id} length`, at + 4, `${len} is outside 0..max_token_length ${maxLen}`);
    if (at + 8 + len > bytes.length) throw new FormatError(file, `token ${id} bytes`, at + 8, `truncated (want ${len} bytes)`);
    let piece: string;
    try {
      piece = utf8.decode(bytes.subarray(at + 8, at + 8 + len));
    } catch {
      throw new FormatError(file, `token ${id} bytes`, at + 8, "not UTF-8");
    }
    tokens.push(piece === "\n<s>\n" ? "<s>" : piece === "\n</s>\n" ? "</s>" : piece.replaceAll(" ", "\u2581"));
    scores.push(score);
    at += 8 + len;
  }
  if (tokens.length < 3) throw new LlamatsError(`${file}: ${tokens.length} tokens: not a llama2.c tokenizer.bin`);
  return vocabFromGgufMetadata({ "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores });
}

/** Whether `bytes` parse as a whole tokenizer.bin (used to tell it from a tokenizer.model). */
export function isLlama2cTokenizer(bytes: Uint8Array): boolean {
  try {
    parseLlama2cTokenizer(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * tokenizer.bin bytes for `pieces` (SentencePiece's, in id order), as llama2.c's tokenizer.py
 * export() writes them: BOS as "\n<s>\n", EOS as "\n</s>\n", "\u2581" as " ".
 */
export function encodeLlama2cTokenizer(pieces: readonly { readonly piece: string; readonly score: number }[], bosId = 1, eosId = 2): Uint8Array {
  const enc = new TextEncoder();
  const tokens = pieces.map((p, i) => enc.encode(i === bosId ? "\n<s>\n" : i === eosId ? "\n</s>\n" : p.piece.replaceAll("\u2581", " ")));
  const maxLen = Math.max(...tokens.map((t) => t.length));
  const out = new Uint8Array(4 + tokens.reduce((a, t) => a + 8 + t.length, 0));
  const dv = new DataView(out.buffer);
  dv.setInt32(0, maxLen, true);
  let at = 4;
  tokens.forEach((t, i) => {
    dv.setFloat32(at, pieces[i]!.score, true);
    dv.setInt32(at + 4, t.length, true);
    out.set(t, at + 8);
    at += 8 + t.length;
  });
  return out;
}
