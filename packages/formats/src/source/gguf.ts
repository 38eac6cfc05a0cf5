// ModelSource over a GGUF file: names and layout are already canonical; hyper-parameters
// come from the `<arch>.*` keys.

import { openGguf } from "../gguf/reader.js";
import { buildSource } from "./build.js";
import { completeFromShapes, hparamsFromGguf, withShortF32 } from "./hparams.js";
import type { ModelSource, SourceTensor } from "./types.js";

export function openGgufSource(path: string): ModelSource {
  const g = openGguf(path);
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
