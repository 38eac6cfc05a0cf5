// Writes a ModelProto as a `tokenizer.model` file, whole or not at all (@llamats/tensor's
// atomic writer: `PATH.tmp-<pid>` renamed onto PATH once complete).

import { writeFileAtomic } from "@llamats/tensor";
import { encodeModelProto, type ModelProto } from "./proto/model-proto.js";

export function writeModelProto(path: string, model: ModelProto): Uint8Array {
  const bytes = encodeModelProto(model);
  writeFileAtomic(path, bytes);
  return bytes;
}
