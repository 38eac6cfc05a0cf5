// loadTokenizer(path): the one way to a Tokenizer from a file — a SentencePiece
// `tokenizer.model`, or a GGUF file's `tokenizer.ggml.*` metadata (read by our GGUF reader).
// GGUF is recognised by its magic (sniffFile), not its name.

import { openGguf } from "./gguf/reader.js";
import { sniffFile } from "./source/open.js";
import { Tokenizer, readModelProto } from "@llamats/tokenizer";

export function loadTokenizer(path: string): Tokenizer {
  if (sniffFile(path) === "gguf") {
    const g = openGguf(path);
    try {
      return Tokenizer.fromGguf(g.metadata);
    } finally {
      g.close();
    }
  }
  return Tokenizer.fromModelProto(readModelProto(path));
}
