// readModelProto(path): a SentencePiece `tokenizer.model` file as a ModelProto. Loading a
// Tokenizer from any tokenizer file (GGUF included) is formats' loadTokenizer.

import { readFileSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import { parseModelProto, type ModelProto } from "./proto/model-proto.js";

export function readModelProto(path: string): ModelProto {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new LlamatsError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseModelProto(bytes, path);
}
