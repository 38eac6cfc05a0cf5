// readModelProto(path): a SentencePiece `tokenizer.model` file as a ModelProto. Loading a
// Tokenizer from any tokenizer file (GGUF included) is formats' loadTokenizer.

import { readFileSync, statSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import { parseModelProto, type ModelProto } from "./proto/model-proto.js";

/** A real tokenizer.model is 0.5-5 MB; a larger one is refused before it is read. */
export const MAX_MODEL_PROTO_BYTES = 64 << 20;

export function readModelProto(path: string): ModelProto {
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MAX_MODEL_PROTO_BYTES) throw new LlamatsError(`${path}: ${size} bytes exceed the ${MAX_MODEL_PROTO_BYTES}-byte limit for a SentencePiece model`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof LlamatsError) throw e;
    throw new LlamatsError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseModelProto(bytes, path);
}
