// Public shapes of the PyTorch checkpoint layer (torch.save zip files, HF shard folders,
// Meta consolidated.*.pth). Tensors are described as PyTorch stores them: a dtype, a
// shape and strides in elements over a storage (one zip entry `archive/data/KEY`), starting
// `storageOffset` elements in; several tensors may share one storage.

import type { ProgressCallback } from "@llamats/tensor";

/** Element types a torch storage can hold (the `torch.*Storage` class names, see dtype.ts). */
export type TorchDType = "f64" | "f32" | "f16" | "bf16" | "i64" | "i32" | "i16" | "i8" | "u8" | "bool";

export interface TorchTensorInfo {
  /** The state-dict key, e.g. "model.layers.0.self_attn.q_proj.weight". */
  readonly name: string;
  readonly dtype: TorchDType;
  /** Outer dimension first, as torch prints it. */
  readonly shape: readonly number[];
  /** In elements, one per dimension (a contiguous (r, c) tensor has strides [c, 1]). */
  readonly strides: readonly number[];
  /** The storage's key in the archive (`archive/data/<storageKey>`). */
  readonly storageKey: string;
  /** First element of the tensor inside its storage, in elements. */
  readonly storageOffset: number;
  /** prod(shape) * element size: the size of what read() returns. */
  readonly byteLength: number;
  /** The .bin/.pth file holding it (differs per tensor in a sharded folder). */
  readonly file: string;
}

export interface TorchCheckpoint {
  /** The file, folder or index json that was opened. */
  readonly path: string;
  /** In the order of the state dict (shard by shard for a sharded folder). */
  readonly tensors: readonly TorchTensorInfo[];
  get(name: string): TorchTensorInfo | undefined;
  /** The tensor's bytes, contiguous row-major (little-endian), whatever its strides.
   *  `dst` (>= byteLength bytes) receives them when given; returns the filled view. */
  read(name: string, dst?: Uint8Array): Uint8Array;
  close(): void;
}

export interface OpenTorchOptions {
  /** Check each zip entry's CRC-32 the first time it is read in full (default false). */
  verifyCrc?: boolean;
}

/** A tensor to write: its bytes, contiguous row-major, or a function producing them
 *  (called once, when the writer reaches the tensor, so a caller can stream a model). */
export interface TorchTensorInput {
  readonly name: string;
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface WriteTorchOptions {
  /** Progress in bytes of tensor data written; label = tensor name. */
  onProgress?: ProgressCallback;
  /** The zip's top folder; torch uses the file name without its extension (default). */
  archiveName?: string;
}
