// loadTokenizer(path): a SentencePiece `tokenizer.model` or a `.gguf` file (its
// `tokenizer.ggml.*` metadata). GGUF is recognised by its magic, not its name.

import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import { readGgufMetadata } from "./gguf-header.js";
import { parseModelProto, type ModelProto } from "./proto/model-proto.js";
import { Tokenizer } from "./tokenizer.js";

function isGguf(path: string): boolean {
  const bytes = new Uint8Array(4);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, bytes, 0, 4, 0) < 4) return false;
  } finally {
    closeSync(fd);
  }
  return bytes.length === 4 && bytes[0] === 0x47 && bytes[1] === 0x47 && bytes[2] === 0x55 && bytes[3] === 0x46;
}

export function readModelProto(path: string): ModelProto {
  return parseModelProto(readFileOr(path), path);
}

function readFileOr(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new LlamatsError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function loadTokenizer(path: string): Tokenizer {
  let gguf: boolean;
  try {
    gguf = isGguf(path);
  } catch (e) {
    throw new LlamatsError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (gguf) return Tokenizer.fromGguf(readGgufMetadata(path));
  return Tokenizer.fromModelProto(readModelProto(path));
}
