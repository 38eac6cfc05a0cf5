// A growable little-endian byte builder for headers (GGUF header, safetensors JSON,
// pickles): chunks of 64 KiB appended in order, joined once at the end.

const CHUNK = 1 << 16;
const encoder = new TextEncoder();

export class ByteBuilder {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(CHUNK);
  private view = new DataView(this.cur.buffer);
  private used = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  private room(n: number): number {
    if (this.used + n > this.cur.length) {
      if (this.used > 0) this.chunks.push(this.cur.subarray(0, this.used));
      this.cur = new Uint8Array(Math.max(CHUNK, n));
      this.view = new DataView(this.cur.buffer);
      this.used = 0;
    }
    const at = this.used;
    this.used += n;
    this.total += n;
    return at;
  }

  // Each write reserves room first: room() may start a new chunk and swap this.cur / this.view.
  u8(v: number): void {
    const at = this.room(1);
    this.cur[at] = v;
  }
  i8(v: number): void {
    const at = this.room(1);
    this.view.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.room(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number): void {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.room(8);
    this.view.setFloat64(at, v, true);
  }
  u64(v: number | bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  i64(v: number | bigint): void {
    const at = this.room(8);
    this.view.setBigInt64(at, BigInt(v), true);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length); // may swap this.cur: take the index first
    this.cur.set(b, at);
  }
  utf8(s: string): Uint8Array {
    const b = encoder.encode(s);
    this.bytes(b);
    return b;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of [...this.chunks, this.cur.subarray(0, this.used)]) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
