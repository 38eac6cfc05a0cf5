// Byte-level encodings of the WebAssembly binary format (spec §5): LEB128 integers,
// IEEE floats, names and length-prefixed vectors. Scope: what our module builder emits.

/** Unsigned LEB128 of a u32 (values >= 2^31 given as negative i32 are taken as u32). */
export function uleb(value: number): number[] {
  let v = value >>> 0;
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an i32 (i32.const immediates). */
export function sleb(value: number): number[] {
  let v = value | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const f32Bytes = new Uint8Array(4);
const f32View = new DataView(f32Bytes.buffer);

/** Little-endian IEEE-754 binary32 (f32.const immediates). */
export function f32le(value: number): number[] {
  f32View.setFloat32(0, value, true);
  return [...f32Bytes];
}

/** A UTF-8 name prefixed with its byte length. */
export function name(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: element count then the concatenated elements. */
export function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const it of items) for (const b of it) out.push(b);
  return out;
}

/** A section: id, byte size, contents. */
export function section(id: number, contents: number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}
