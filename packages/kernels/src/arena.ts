// Shared WebAssembly memories handed out by a bump allocator. Weights and activations live
// here so that kernels (on the main thread and in every worker) address them directly: loaded
// once, never copied per worker. A wasm32 memory holds at most 4 GiB, so the arena opens
// another memory when one is full (a 7B Q8_0 model needs two); a single allocation never
// spans memories. Fresh memory is zero, and nothing is ever freed, so allocations are zeroed.
// See docs/WASM.md for why several memories rather than memory64.

import { LlamatsError } from "@llamats/tensor";
import { F16_TABLE_BYTES, MAX_PAGES, WASM_PAGE, writeF16Table } from "./kernelModule.js";

export interface ArenaOptions {
  /** Upper bound of one memory in bytes (default and maximum 4 GiB); tests set it small. */
  readonly maxBytesPerMemory?: number;
  /** Bytes to reserve at creation in the first memory (default 16 MiB). */
  readonly initialBytes?: number;
  /** Bytes kept free at the end of each memory for its scratch (default 1/16 of it). */
  readonly scratchReserve?: number;
}

/** Where an allocation lives: memory index and byte offset inside it. */
export interface Region {
  readonly memory: number;
  readonly offset: number;
  readonly bytes: number;
}

export class SharedArena {
  readonly memories: WebAssembly.Memory[] = [];
  private readonly tops: number[] = [];
  private readonly maxBytes: number;
  private readonly reserve: number;
  // Every SharedArrayBuffer object we created views on -> its memory index. memory.buffer
  // returns a new object after grow(), so each one is recorded as it is handed out.
  private readonly buffers = new WeakMap<ArrayBufferLike, number>();

  constructor(opts: ArenaOptions = {}) {
    this.maxBytes = Math.min(opts.maxBytesPerMemory ?? MAX_PAGES * WASM_PAGE, MAX_PAGES * WASM_PAGE);
    this.reserve = opts.scratchReserve ?? Math.floor(this.maxBytes / 16);
    this.openMemory(opts.initialBytes ?? 16 << 20);
  }

  private openMemory(initialBytes: number): number {
    const pages = Math.min(MAX_PAGES, Math.ceil((F16_TABLE_BYTES + initialBytes) / WASM_PAGE));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    writeF16Table(memory);
    this.memories.push(memory);
    this.tops.push(F16_TABLE_BYTES);
    return this.memories.length - 1;
  }

  /**
   * Reserve `bytes` (aligned to `align`, default 64). Without `memory`: in the newest memory
   * if it has room below its scratch reserve, else in a new memory. With `memory`: there,
   * using the reserve too (scratch that kernels over that memory need), or throw.
   */
  alloc(bytes: number, align = 64, memory?: number): Region {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`bad allocation size ${bytes}`);
    if (F16_TABLE_BYTES + bytes + align > this.maxBytes - (memory === undefined ? this.reserve : 0)) {
      throw new LlamatsError(`cannot allocate ${bytes} bytes: larger than one WebAssembly memory (${this.maxBytes} bytes)`);
    }
    let m = memory ?? this.memories.length - 1;
    let offset = alignUp(this.tops[m]!, align);
    const limit = memory === undefined ? this.maxBytes - this.reserve : this.maxBytes;
    if (offset + bytes > limit) {
      if (memory !== undefined) {
        throw new LlamatsError(`out of WebAssembly memory ${memory}: ${bytes} bytes of scratch do not fit`);
      }
      m = this.openMemory(bytes + align);
      offset = alignUp(this.tops[m]!, align);
    }
    this.ensure(m, offset + bytes);
    this.tops[m] = offset + bytes;
    return { memory: m, offset, bytes };
  }

  private ensure(m: number, end: number): void {
    const mem = this.memories[m]!;
    const have = mem.buffer.byteLength;
    if (end <= have) return;
    // Grow geometrically (at least 1/4 more) to keep the number of grow() calls small.
    const want = Math.min(this.maxBytes, Math.max(end, have + (have >> 2)));
    mem.grow(Math.ceil((want - have) / WASM_PAGE));
  }

  buffer(m: number): SharedArrayBuffer {
    const b = this.memories[m]!.buffer as unknown as SharedArrayBuffer;
    this.buffers.set(b, m);
    return b;
  }

  u8(r: Region): Uint8Array {
    return new Uint8Array(this.buffer(r.memory), r.offset, r.bytes);
  }

  f32(r: Region): Float32Array {
    return new Float32Array(this.buffer(r.memory), r.offset, r.bytes >> 2);
  }

  /** The memory index and offset of a view created by this arena, else undefined. */
  locate(view: ArrayBufferView): { memory: number; offset: number } | undefined {
    const m = this.buffers.get(view.buffer);
    return m === undefined ? undefined : { memory: m, offset: view.byteOffset };
  }

  /** Bytes in use across all memories (for reports). */
  bytesUsed(): number {
    return this.tops.reduce((a, b) => a + b, 0);
  }
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
