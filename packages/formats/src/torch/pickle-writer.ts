// Pickle writer for a state dict, emitting the bytes Python's pickle (protocol 2) emits
// when torch.save pickles an OrderedDict of contiguous CPU tensors: the same opcodes, the
// same memo numbering (every str, tuple and global is memoized; ints, bools and the empty
// tuple are not), SETITEMS in batches of 1000. So a checkpoint we write has the data.pkl
// torch 1.13 would write for the same tensors.

import { storageClassOfDType } from "./dtype.js";
import type { TorchDType } from "./types.js";

export interface PickledTensor {
  readonly name: string;
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** The storage's key ("0", "1", ...). Tensors sharing a storage share a key. */
  readonly storageKey: string;
  readonly storageOffset: number; // elements
  readonly storageNumel: number;
}

const BATCH = 1000;

class Pickler {
  private chunks: number[] = [];
  private memoSize = 0;
  /** Memo slot of each memoized value, keyed by identity (strings by an explicit tag). */
  private readonly memo = new Map<string, number>();

  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
  op(...b: number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  u32(n: number): void {
    this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  /** BINPUT / LONG_BINPUT the value just written under `tag` (if tagged). */
  put(tag?: string): void {
    const i = this.memoSize++;
    if (tag !== undefined) this.memo.set(tag, i);
    if (i < 256) this.op(0x71, i);
    else {
      this.op(0x72);
      this.u32(i);
    }
  }
  /** BINGET / LONG_BINGET when `tag` was memoized; returns whether it was. */
  get(tag: string): boolean {
    const i = this.memo.get(tag);
    if (i === undefined) return false;
    if (i < 256) this.op(0x68, i);
    else {
      this.op(0x6a);
      this.u32(i);
    }
    return true;
  }
  str(s: string, tag?: string): void {
    if (tag !== undefined && this.get(tag)) return;
    const b = new TextEncoder().encode(s);
    this.op(0x58);
    this.u32(b.length);
    for (const x of b) this.chunks.push(x);
    this.put(tag);
  }
  global(module: string, name: string): void {
    const tag = `global:${module} ${name}`;
    if (this.get(tag)) return;
    this.op(0x63);
    for (const c of `${module}\n${name}\n`) this.chunks.push(c.charCodeAt(0));
    this.put(tag);
  }
  int(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`cannot pickle ${n}`);
    if (n >= 0 && n < 256) this.op(0x4b, n);
    else if (n >= 0 && n < 65536) this.op(0x4d, n & 0xff, n >>> 8);
    else if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.op(0x4a);
      this.u32(n >>> 0);
    } else {
      // LONG1: little-endian two's complement, as few bytes as Python's encode_long uses.
      let v = BigInt(n);
      const out: number[] = [];
      for (;;) {
        out.push(Number(v & 0xffn));
        v >>= 8n;
        const last = out[out.length - 1];
        if ((v === 0n && (last & 0x80) === 0) || (v === -1n && (last & 0x80) !== 0)) break;
      }
      this.op(0x8a, out.length, ...out);
    }
  }
  /** A tuple of ints (torch.Size / stride), memoized like Python. */
  intTuple(items: readonly number[]): void {
    if (items.length === 0) {
      this.op(0x29); // EMPTY_TUPLE: not memoized
      return;
    }
    if (items.length <= 3) {
      for (const x of items) this.int(x);
      this.op(0x84 + items.length);
    } else {
      this.op(0x28);
      for (const x of items) this.int(x);
      this.op(0x74);
    }
    this.put();
  }
  emptyOrderedDict(): void {
    this.global("collections", "OrderedDict");
    this.op(0x29, 0x52); // EMPTY_TUPLE REDUCE
    this.put();
  }
  tensor(t: PickledTensor): void {
    this.global("torch._utils", "_rebuild_tensor_v2");
    this.op(0x28); // MARK: the 6 arguments
    this.op(0x28); // MARK: the persistent id tuple
    this.str("storage", "str:storage");
    this.global("torch", storageClassOfDType(t.dtype));
    this.str(t.storageKey, `key:${t.storageKey}`);
    this.str("cpu", "str:cpu");
    this.int(t.storageNumel);
    this.op(0x74); // TUPLE
    this.put();
    this.op(0x51); // BINPERSID
    this.int(t.storageOffset);
    this.intTuple(t.shape);
    this.intTuple(t.strides);
    this.op(0x89); // NEWFALSE: requires_grad
    this.emptyOrderedDict(); // backward_hooks
    this.op(0x74); // TUPLE
    this.put();
    this.op(0x52); // REDUCE
    this.put();
  }
}

/** data.pkl for an OrderedDict of tensors, in the given order. */
export function pickleStateDict(tensors: readonly PickledTensor[]): Uint8Array {
  const p = new Pickler();
  p.op(0x80, 2); // PROTO 2
  p.emptyOrderedDict();
  for (let i = 0; i < tensors.length; i += BATCH) {
    const batch = tensors.slice(i, i + BATCH);
    if (batch.length > 1) p.op(0x28); // MARK
    for (const t of batch) {
      p.str(t.name);
      p.tensor(t);
    }
    p.op(batch.length > 1 ? 0x75 : 0x73); // SETITEMS / SETITEM
  }
  p.op(0x2e); // STOP
  return p.bytes();
}
