// Writes a ModelProto as a `tokenizer.model` file, whole or not at all: the bytes go to
// `PATH.tmp-<pid>`, which is renamed onto PATH once complete.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import { LlamatsError } from "@llamats/tensor";
import { encodeModelProto, type ModelProto } from "./proto/model-proto.js";

export function writeModelProto(path: string, model: ModelProto): Uint8Array {
  const bytes = encodeModelProto(model);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new LlamatsError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  return bytes;
}
