// ModelSource over a llama2.c checkpoint: names from the run.c layout, already interleaved.

import { dirname } from "node:path";
import { openLlama2c } from "../llama2c.js";
import { canonicalOrder } from "../names.js";
import { buildSource } from "./build.js";
import { findTokenizer } from "./hf.js";
import { hparamsFromLlama2c } from "./hparams.js";
import type { ModelSource } from "./types.js";

export function openLlama2cSource(path: string): ModelSource {
  const f = openLlama2c(path);
  const c = f.config;
  const entries = [...f.tensors].sort((a, b) => canonicalOrder(a.name, b.name)).map((t) => ({
    tensor: { name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength, sourceName: t.sourceName },
    readRaw: (dst?: Uint8Array) => f.readTensor(t.name, dst),
  }));
  return buildSource({
    format: "llama2c", path,
    metadata: {
      dim: c.dim, hidden_dim: c.hiddenDim, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads,
      vocab_size: c.vocabSize, seq_len: c.seqLen, shared_classifier: c.sharedClassifier,
    },
    config: hparamsFromLlama2c(c),
    entries, tokenizerPath: findTokenizer(dirname(path)), close: () => f.close(),
  });
}
