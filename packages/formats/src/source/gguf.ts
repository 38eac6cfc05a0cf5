// ModelSource over a GGUF file: names and layout are already canonical; hyper-parameters
// come from the `<arch>.*` keys.

import { openGguf, openGgufBytes, type GgufBytesOptions, type GgufFile } from "../gguf/reader.js";
import { buildSource } from "./build.js";
import { completeFromShapes, hparamsFromGguf, withShortF32 } from "./hparams.js";
import type { ModelSource, SourceTensor } from "./types.js";

export function openGgufSource(path: string): ModelSource {
  return ggufSource(openGguf(path), path);
}

/** The same over a GGUF file in memory (the browser build); `name` labels errors. */
export function openGgufSourceBytes(bytes: Uint8Array, name: string, options?: GgufBytesOptions): ModelSource {
  return ggufSource(openGgufBytes(bytes, name, options), name);
}

function ggufSource(g: GgufFile, path: string): ModelSource {
  try {
    const entries = g.tensors.map((t) => {
      const tensor: SourceTensor = { name: t.name, type: t.type as SourceTensor["type"], shape: t.shape, byteLength: t.byteLength, sourceName: t.name };
      return { tensor, readRaw: (dst?: Uint8Array) => g.readTensor(t, dst) };
    });
    const stated = withShortF32(hparamsFromGguf(g.metadata, path));
    const src = buildSource({
      format: "gguf", path, metadata: g.metadata,
      config: completeFromShapes(path, stated, entries.map((e) => e.tensor)),
      entries, close: () => g.close(),
    });
    return Object.assign(src, { kv: g.kv });
  } catch (err) {
    g.close();
    throw err;
  }
}
