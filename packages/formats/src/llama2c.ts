// llama2.c checkpoint (`.bin`, Karpathy's run.c "legacy" export, version 0):
//   7 x int32 header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
//   a negative vocab_size means the classifier is NOT shared with the token embedding.
// Then float32 weights, each kind stored for all layers back to back, in the order of
// run.c memory_map_weights(): token_embedding (vocab, dim), rms_att (L, dim),
// wq (L, dim, dim), wk (L, kvDim, dim), wv (L, kvDim, dim), wo (L, dim, dim),
// rms_ffn (L, dim), w1 (L, hidden, dim), w2 (L, dim, hidden), w3 (L, hidden, dim),
// rms_final (dim), freq_cis_real + freq_cis_imag (seq_len * headDim / 2 each, skipped),
// then wcls (vocab, dim) when unshared. Q/K are in interleaved (Meta/GGUF) RoPE layout.
// Scope: this float32 format only (not the int8 "version 2" export). Nothing but the header
// is read at open; every offset is checked against the file size.

import { FormatError, GGMLType } from "@llamats/tensor";
import { RandomAccessFile } from "./io/file.js";

export interface Llama2cConfig {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly sharedClassifier: boolean;
}

export interface Llama2cTensor {
  /** Canonical GGUF name. */
  readonly name: string;
  /** run.c field name, with the layer for per-layer tensors: "wq[3]". */
  readonly sourceName: string;
  readonly type: GGMLType;
  readonly shape: readonly number[];
  /** Absolute file offset. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface Llama2cFile {
  readonly path: string;
  readonly config: Llama2cConfig;
  readonly tensors: readonly Llama2cTensor[];
  readTensor(name: string, dst?: Uint8Array): Uint8Array;
  close(): void;
}

const HEADER_BYTES = 28;
const MAX_DIM = 1 << 20;

export function openLlama2c(path: string): Llama2cFile {
  const file = new RandomAccessFile(path);
  try {
    return parseLlama2c(file);
  } catch (err) {
    file.close();
    throw err;
  }
}

function parseLlama2c(file: RandomAccessFile): Llama2cFile {
  const path = file.path;
  const fail = (field: string, offset: number, detail: string): never => {
    throw new FormatError(path, field, offset, detail);
  };
  if (file.size < HEADER_BYTES) fail("header", 0, `file of ${file.size} bytes is shorter than the 28-byte header`);
  const h = new DataView(file.read(0, HEADER_BYTES, "header").buffer);
  const fields = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"];
  const v = fields.map((_, i) => h.getInt32(i * 4, true));
  fields.forEach((f, i) => {
    const x = f === "vocab_size" ? Math.abs(v[i]) : v[i];
    if (x <= 0 || x > MAX_DIM) fail(f, i * 4, `${v[i]} is out of range (1..${MAX_DIM})`);
  });
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = v;
  if (nLayers > 4096) fail("n_layers", 8, `${nLayers} layers is implausible`);
  if (dim % nHeads !== 0) fail("n_heads", 12, `dim ${dim} is not a multiple of n_heads ${nHeads}`);
  if (nHeads % nKvHeads !== 0) fail("n_kv_heads", 16, `n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  const headDim = dim / nHeads;
  if (headDim % 2 !== 0) fail("n_heads", 12, `head dimension ${headDim} is odd`);
  const kvDim = headDim * nKvHeads;
  const vocabSize = Math.abs(vocabRaw);
  const sharedClassifier = vocabRaw > 0;
  const config: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier };

  const tensors: Llama2cTensor[] = [];
  let offset = HEADER_BYTES;
  const add = (name: string, sourceName: string, shape: number[]): void => {
    const byteLength = shape.reduce((a, d) => a * d, 4);
    tensors.push({ name, sourceName, type: GGMLType.F32, shape, offset, byteLength });
    offset += byteLength;
  };
  const perLayer = (name: string, src: string, shape: number[]): void => {
    for (let l = 0; l < nLayers; l++) add(`blk.${l}.${name}.weight`, `${src}[${l}]`, shape);
  };
  add("token_embd.weight", "token_embedding_table", [vocabSize, dim]);
  perLayer("attn_norm", "rms_att_weight", [dim]);
  perLayer("attn_q", "wq", [dim, dim]);
  perLayer("attn_k", "wk", [kvDim, dim]);
  perLayer("attn_v", "wv", [kvDim, dim]);
  perLayer("attn_output", "wo", [dim, dim]);
  perLayer("ffn_norm", "rms_ffn_weight", [dim]);
  perLayer("ffn_gate", "w1", [hiddenDim, dim]);
  perLayer("ffn_down", "w2", [dim, hiddenDim]);
  perLayer("ffn_up", "w3", [hiddenDim, dim]);
  add("output_norm.weight", "rms_final_weight", [dim]);
  offset += seqLen * headDim * 4; // freq_cis_real + freq_cis_imag: (seq_len, headDim / 2) each
  if (sharedClassifier) {
    // The classifier is the embedding table itself; expose it under its own name too.
    const emb = tensors[0];
    tensors.push({ ...emb, name: "output.weight", sourceName: "token_embedding_table (shared classifier)" });
  } else {
    add("output.weight", "wcls", [vocabSize, dim]);
  }
  if (offset > file.size) fail("weights", file.size, `header implies ${offset} bytes of weights, file has ${file.size}`);
  if (offset < file.size) fail("weights", offset, `${file.size - offset} trailing bytes after the last weight`);

  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    path, config, tensors,
    readTensor(name, dst) {
      const t = byName.get(name);
      if (!t) throw new FormatError(path, "tensor", 0, `no tensor named "${name}"`);
      return file.readInto(dst ?? new Uint8Array(t.byteLength), t.offset, t.byteLength, `${t.sourceName} data`);
    },
    close: () => file.close(),
  };
}
