// Tensor: a typed view {dtype, shape, strides, offset} over a storage region. Views (slice,
// transpose, reshape, permute) share storage and never copy; contiguous() copies only when
// the layout is not already row-major dense. Strides and offset are in elements.
//
// Storage is a byte region of an ArrayBuffer, a SharedArrayBuffer (seen by workers) or a
// WebAssembly.Memory (seen by WebAssembly kernels). A Memory's `buffer` object changes when it
// grows, so a WasmRegion re-reads it on every access instead of caching a typed array.

import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./f16.js";

export type DType = "f32" | "f16" | "bf16" | "i8" | "u8" | "i32";

/** Bytes per element of each dtype. */
export const dtypeBytes: Readonly<Record<DType, number>> = { f32: 4, f16: 2, bf16: 2, i8: 1, u8: 1, i32: 4 };

/** A byte region that tensors live in. */
export interface Storage {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** A region of plain or shared memory. */
export class BufferRegion implements Storage {
  constructor(readonly buffer: ArrayBufferLike, readonly byteOffset = 0, readonly byteLength = buffer.byteLength - byteOffset) {
    if (byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > buffer.byteLength) {
      throw new RangeError(`region [${byteOffset}, ${byteOffset + byteLength}) outside a buffer of ${buffer.byteLength} bytes`);
    }
  }
}

/** A region of a WebAssembly.Memory; survives memory.grow(). */
export class WasmRegion implements Storage {
  constructor(readonly memory: WebAssembly.Memory, readonly byteOffset: number, readonly byteLength: number) {
    if (byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > memory.buffer.byteLength) {
      throw new RangeError(`region [${byteOffset}, ${byteOffset + byteLength}) outside a memory of ${memory.buffer.byteLength} bytes`);
    }
  }
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }
}

type Raw = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array;

function rawView(dtype: DType, s: Storage): Raw {
  const n = s.byteLength / dtypeBytes[dtype];
  switch (dtype) {
    case "f32": return new Float32Array(s.buffer, s.byteOffset, n);
    case "f16":
    case "bf16": return new Uint16Array(s.buffer, s.byteOffset, n);
    case "i8": return new Int8Array(s.buffer, s.byteOffset, n);
    case "u8": return new Uint8Array(s.buffer, s.byteOffset, n);
    case "i32": return new Int32Array(s.buffer, s.byteOffset, n);
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`bad dimension ${d} in shape [${shape}]`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new RangeError(`shape [${shape}] has too many elements`);
  }
  return n;
}

/** Row-major (C order) strides of a shape, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export class Tensor {
  private constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number, // elements from the start of storage
    readonly storage: Storage,
  ) {}

  /** A new zeroed tensor in fresh memory (shared: true puts it in a SharedArrayBuffer). */
  static zeros(dtype: DType, shape: readonly number[], opts: { shared?: boolean } = {}): Tensor {
    const bytes = numel(shape) * dtypeBytes[dtype];
    const buf = opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new Tensor(dtype, [...shape], contiguousStrides(shape), 0, new BufferRegion(buf));
  }

  /** A dense row-major tensor over existing storage (no copy). */
  static fromStorage(dtype: DType, shape: readonly number[], storage: Storage, offset = 0): Tensor {
    const need = (offset + numel(shape)) * dtypeBytes[dtype];
    if (storage.byteLength % dtypeBytes[dtype] !== 0 || storage.byteOffset % dtypeBytes[dtype] !== 0) {
      throw new RangeError(`storage is not aligned to ${dtype} elements`);
    }
    if (need > storage.byteLength) throw new RangeError(`shape [${shape}] needs ${need} bytes, storage has ${storage.byteLength}`);
    return new Tensor(dtype, [...shape], contiguousStrides(shape), offset, storage);
  }

  /** Wrap a typed array (no copy). f16/bf16 data is a Uint16Array of bit patterns. */
  static fromArray(dtype: DType, shape: readonly number[], data: Raw): Tensor {
    if (data.length !== numel(shape)) throw new RangeError(`${data.length} elements for shape [${shape}]`);
    return Tensor.fromStorage(dtype, shape, new BufferRegion(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A dense tensor holding `values` converted to dtype (rounded as the dtype requires). */
  static fromValues(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
    const t = Tensor.zeros(dtype, shape);
    if (values.length !== t.size) throw new RangeError(`${values.length} values for shape [${shape}]`);
    for (let i = 0; i < values.length; i++) t.setFlat(i, values[i]);
    return t;
  }

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }

  /** The raw typed array over the whole storage region (index with offset + strides). */
  raw(): Raw {
    return rawView(this.dtype, this.storage);
  }

  isContiguous(): boolean {
    const want = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d === 1 || this.strides[i] === want[i]);
  }

  /** Storage index of element `idx` (one index per dimension). */
  indexOf(idx: readonly number[]): number {
    if (idx.length !== this.rank) throw new RangeError(`${idx.length} indices for a rank-${this.rank} tensor`);
    let at = this.offset;
    for (let i = 0; i < idx.length; i++) {
      const k = idx[i];
      if (!Number.isInteger(k) || k < 0 || k >= this.shape[i]) throw new RangeError(`index ${k} out of range for dim ${i} of size ${this.shape[i]}`);
      at += k * this.strides[i];
    }
    return at;
  }

  get(...idx: number[]): number {
    return this.decode(this.raw()[this.indexOf(idx)]);
  }

  set(value: number, ...idx: number[]): void {
    this.raw()[this.indexOf(idx)] = this.encode(value);
  }

  /** Element i in row-major order of this view. */
  getFlat(i: number): number {
    return this.decode(this.raw()[this.flatToStorage(i)]);
  }

  setFlat(i: number, value: number): void {
    this.raw()[this.flatToStorage(i)] = this.encode(value);
  }

  private flatToStorage(i: number): number {
    let at = this.offset;
    for (let d = this.rank - 1; d >= 0; d--) {
      const n = this.shape[d];
      at += (i % n) * this.strides[d];
      i = Math.floor(i / n);
    }
    return at;
  }

  private decode(v: number): number {
    if (this.dtype === "f16") return f16ToF32(v);
    if (this.dtype === "bf16") return bf16ToF32(v);
    return v;
  }

  private encode(v: number): number {
    if (this.dtype === "f16") return f32ToF16(v);
    if (this.dtype === "bf16") return f32ToBf16(v);
    return v;
  }

  /** Elements [start, end) of dimension `dim` (a view). */
  slice(dim: number, start: number, end: number = this.shape[dim]): Tensor {
    this.checkDim(dim);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.shape[dim])) {
      throw new RangeError(`slice [${start}, ${end}) out of range for dim ${dim} of size ${this.shape[dim]}`);
    }
    const shape = [...this.shape];
    shape[dim] = end - start;
    return new Tensor(this.dtype, shape, this.strides, this.offset + start * this.strides[dim], this.storage);
  }

  /** Swap two dimensions (a view). */
  transpose(d0 = this.rank - 2, d1 = this.rank - 1): Tensor {
    this.checkDim(d0);
    this.checkDim(d1);
    const order = this.shape.map((_, i) => i);
    order[d0] = d1;
    order[d1] = d0;
    return this.permute(order);
  }

  /** Reorder dimensions: result dim i is this dim order[i] (a view). */
  permute(order: readonly number[]): Tensor {
    if (order.length !== this.rank || [...order].sort((a, b) => a - b).some((v, i) => v !== i)) {
      throw new RangeError(`permutation [${order}] is not a permutation of ${this.rank} dims`);
    }
    return new Tensor(this.dtype, order.map((d) => this.shape[d]), order.map((d) => this.strides[d]), this.offset, this.storage);
  }

  /** Same elements, new shape (a view; the tensor must be contiguous). One dim may be -1. */
  reshape(shape: readonly number[]): Tensor {
    const known = shape.filter((d) => d !== -1);
    const inferred = shape.length - known.length;
    if (inferred > 1) throw new RangeError("reshape: at most one -1");
    const rest = numel(known);
    const full = inferred ? shape.map((d) => (d === -1 ? this.size / rest : d)) : [...shape];
    if (numel(full) !== this.size || full.some((d) => !Number.isInteger(d))) {
      throw new RangeError(`reshape: [${this.shape}] (${this.size}) cannot become [${shape}]`);
    }
    if (!this.isContiguous()) throw new RangeError("reshape of a non-contiguous view: call contiguous() first");
    return new Tensor(this.dtype, full, contiguousStrides(full), this.offset, this.storage);
  }

  /** This tensor if already dense row-major, otherwise a dense copy. */
  contiguous(opts: { shared?: boolean } = {}): Tensor {
    if (this.isContiguous() && !opts.shared) return this;
    const out = Tensor.zeros(this.dtype, this.shape, opts);
    const src = this.raw();
    const dst = out.raw();
    const n = this.size;
    for (let i = 0; i < n; i++) dst[i] = src[this.flatToStorage(i)];
    return out;
  }

  /** A dense Float32Array copy of the values, row-major. */
  toFloat32Array(): Float32Array {
    const n = this.size;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.getFlat(i);
    return out;
  }

  private checkDim(dim: number): void {
    if (!Number.isInteger(dim) || dim < 0 || dim >= this.rank) throw new RangeError(`dim ${dim} out of range for rank ${this.rank}`);
  }
}
