// loadTokenizer(path): the one way to a Tokenizer from a file — a SentencePiece
// `tokenizer.model`, a GGUF file's `tokenizer.ggml.*` metadata (read by our GGUF reader), or
// llama2.c's `tokenizer.bin` (@llamats/tokenizer's reader). GGUF is recognised by its magic
// (sniffFile), tokenizer.bin by parsing whole (a 4-byte header, then score / length / bytes
// records up to the last byte), anything else is read as a ModelProto.

import { readFileSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import { Tokenizer, isLlama2cTokenizer, parseLlama2cTokenizer, parseModelProto } from "@llamats/tokenizer";
import { openGguf } from "./gguf/reader.js";
import { sniffFile } from "./source/open.js";

export function loadTokenizer(path: string): Tokenizer {
  if (sniffFile(path) === "gguf") {
    const g = openGguf(path);
    try {
      return Tokenizer.fromGguf(g.metadata);
    } finally {
      g.close();
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LlamatsError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (isLlama2cTokenizer(bytes)) return new Tokenizer(parseLlama2cTokenizer(bytes, path));
  return Tokenizer.fromModelProto(parseModelProto(bytes, path));
}
