// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as zip stores it per entry.
// Slicing-by-8 over one flat table (8 x 256 entries), reading the input as little-endian
// 32-bit words: several hundred MB/s in V8, so checking a 13 GB checkpoint stays practical.

/** (8, 256): table k advances a byte through k further zero bytes. */
const table: Uint32Array = buildTable();
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function buildTable(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = t[prev & 0xff] ^ (prev >>> 8);
    }
  }
  return t;
}

/** CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before; 0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = table;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  if (littleEndian && n >= 64) {
    while (((bytes.byteOffset + i) & 3) !== 0) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (n - i) >>> 3 << 1); // (pairs, 2)
    for (let w = 0; w < words.length; w += 2) {
      const a = c ^ words[w];
      const b = words[w + 1];
      c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
        t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^ t[256 + ((b >>> 16) & 0xff)] ^ t[b >>> 24];
    }
    i += words.length * 4;
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
