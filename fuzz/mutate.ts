// libFuzzer-style byte mutations with a seeded PRNG (mulberry32), so a campaign is
// reproducible from its --seed. Biased toward what breaks binary parsers: little-endian
// integers replaced by boundary values and by "lengths" near the input size.
import { mulberry32 } from "@llamats/testkit";

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export class Mutator {
  private readonly rand: () => number;
  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }
  /** Uniform in [0, n). */
  int(n: number): number {
    return (this.rand() * n) | 0;
  }

  /** 1-4 stacked mutations of `data` (never modified in place); `other` is for splicing. */
  mutate(data: Uint8Array, other: Uint8Array): Uint8Array {
    let b: Uint8Array = data.slice();
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) b = this.one(b, other);
    return b.length > 1 << 20 ? b.subarray(0, 1 << 20) : b;
  }

  private one(b: Uint8Array, other: Uint8Array): Uint8Array {
    const len = b.length;
    if (len === 0) return Uint8Array.of(this.int(256));
    const at = this.int(len);
    switch (this.int(11)) {
      case 0: b[at] ^= 1 << this.int(8); return b; // bit flip
      case 1: b[at] = this.int(256); return b; // random byte
      case 2: b[at] = INTERESTING_8[this.int(INTERESTING_8.length)]; return b;
      case 3: return this.setInt(b, at, INTERESTING_32[this.int(INTERESTING_32.length)], 4);
      case 4: { // an 8-byte length/count/offset that lies: near the input size, or huge
        const choices = [len, len + 1, len - at, len * 2, 2 ** 32, 2 ** 53 - 1, 2 ** 62, 2 ** 64 - 1];
        return this.setU64(b, at, choices[this.int(choices.length)]);
      }
      case 5: { // arithmetic on a little-endian u32
        if (len < 4) return b;
        const p = Math.min(at, len - 4);
        const v = new DataView(b.buffer, b.byteOffset, len).getUint32(p, true);
        return this.setInt(b, p, (v + this.int(33) - 16) >>> 0, 4);
      }
      case 6: { // delete a run
        const n = 1 + this.int(Math.min(16, len - at));
        return concat(b.subarray(0, at), b.subarray(at + n));
      }
      case 7: { // insert random or repeated bytes
        const n = 1 + this.int(16);
        const ins = new Uint8Array(n).fill(this.int(2) ? b[at] : this.int(256));
        return concat(b.subarray(0, at), ins, b.subarray(at));
      }
      case 8: { // copy a chunk within the input
        const from = this.int(len);
        const n = 1 + this.int(Math.min(32, len - from, len - at));
        b.copyWithin(at, from, from + n);
        return b;
      }
      case 9: { // splice with another corpus entry
        if (other.length === 0) return b;
        const from = this.int(other.length);
        return concat(b.subarray(0, at), other.subarray(from, from + 1 + this.int(64)), b.subarray(at));
      }
      default: return b.subarray(0, at); // truncate
    }
  }

  private setInt(b: Uint8Array, at: number, v: number, n: number): Uint8Array {
    for (let i = 0; i < n && at + i < b.length; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
    return b;
  }
  private setU64(b: Uint8Array, at: number, v: number): Uint8Array {
    let x = BigInt(Math.min(v, 2 ** 64 - 1)) & ((1n << 64n) - 1n);
    for (let i = 0; i < 8 && at + i < b.length; i++, x >>= 8n) b[at + i] = Number(x & 0xffn);
    return b;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
