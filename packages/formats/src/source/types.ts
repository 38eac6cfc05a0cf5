// The model-level view every consumer uses, whatever file a model came from: tensors under
// canonical GGUF names (`token_embd.weight`, `blk.N.attn_q.weight`, ...), in GGUF layout
// (Q/K rows interleaved for RoPE), as raw bytes of their stored dtype.

import type { GGMLType, LlamaConfigInput } from "@llamats/tensor";
import type { GgufKV } from "../gguf/types.js";

export type SourceFormat = "gguf" | "safetensors" | "hf" | "meta" | "llama2c" | "peft";

export interface SourceTensor {
  /** Canonical (GGUF) name, e.g. "blk.0.attn_q.weight". */
  readonly name: string;
  /** Stored element type (F32/F16/BF16/...; quantised types only from GGUF). */
  readonly type: GGMLType;
  /** Row-major, outer dimension first: a weight matrix is (rows, cols) = (out, in). */
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** The name in the file it came from, e.g. "model.layers.0.self_attn.q_proj.weight". */
  readonly sourceName: string;
  /** Sharded Hugging Face sources: the file (base name) holding it, for writers that mirror
   *  the input's shards (the LoRA merge's Hugging Face output). */
  readonly file?: string;
}

/** A tensor of a Hugging Face source's files with no canonical name (`rotary_emb.inv_freq`
 *  buffers of old checkpoints), under its own name, passed through as stored. */
export interface ExtraTensor extends SourceTensor {
  read(): Uint8Array;
}

export interface ModelSource {
  readonly format: SourceFormat;
  /** The file or folder that was opened. */
  readonly path: string;
  /** GGUF key/values, or config.json / params.json / llama2.c header fields, as read. */
  readonly metadata: Record<string, unknown>;
  /** Hyper-parameters as the file states them, unstated ones filled from tensor shapes where
   *  they can be (absent otherwise; GGUF f32 keys as short decimals). configFromSource()
   *  gives the frozen LlamaConfig. */
  readonly config: LlamaConfigInput;
  /** Canonical names, GGUF layout (Q/K interleaved). Unmapped foreign tensors are dropped. */
  readonly tensors: readonly SourceTensor[];
  /** Hugging Face sources: the files' tensors that have no canonical name (not in `tensors`). */
  readonly extras?: readonly ExtraTensor[];
  /** GGUF sources only: the metadata with its exact value types (copied by the GGUF writer). */
  readonly kv?: readonly GgufKV[];
  /** A SentencePiece `tokenizer.model` next to the weights, when there is one. */
  readonly tokenizerPath?: string;
  /** Raw bytes of a tensor in its stored dtype, permuted to GGUF layout as needed.
   *  `dst` (at least byteLength bytes) receives them when given; returns the filled view. */
  read(name: string, dst?: Uint8Array): Uint8Array;
  close(): void;
}

export interface OpenSourceOptions {
  /** Force a format instead of sniffing it ("llama2c" has no magic number). */
  format?: SourceFormat;
}
