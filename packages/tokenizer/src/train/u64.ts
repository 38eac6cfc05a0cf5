// 64-bit unsigned arithmetic on (hi, lo) uint32 halves, for the two places the BPE trainer
// needs SentencePiece's exact 64-bit values: a symbol pair's fingerprint
// (util.h port::FingerprintCat, Bob Jenkins' 64-bit mix) and `fingerprint % bucketCount`
// (which decides where libstdc++'s unordered_map keeps the symbol; see std-hashtable.ts).

/** A 64-bit value as two uint32 halves. */
export interface U64 {
  hi: number;
  lo: number;
}

let ah = 0, al = 0, bh = 0, bl = 0, ch = 0, cl = 0; // the mix's registers a, b, c

// x -= y (mod 2^64), on the halves
function subAB(): void { const lo = al - bl; ah = (ah - bh - (lo < 0 ? 1 : 0)) >>> 0; al = lo >>> 0; }
function subAC(): void { const lo = al - cl; ah = (ah - ch - (lo < 0 ? 1 : 0)) >>> 0; al = lo >>> 0; }
function subBC(): void { const lo = bl - cl; bh = (bh - ch - (lo < 0 ? 1 : 0)) >>> 0; bl = lo >>> 0; }
function subBA(): void { const lo = bl - al; bh = (bh - ah - (lo < 0 ? 1 : 0)) >>> 0; bl = lo >>> 0; }
function subCA(): void { const lo = cl - al; ch = (ch - ah - (lo < 0 ? 1 : 0)) >>> 0; cl = lo >>> 0; }
function subCB(): void { const lo = cl - bl; ch = (ch - bh - (lo < 0 ? 1 : 0)) >>> 0; cl = lo >>> 0; }

// (h, l) >> n and << n for 0 < n < 64, as [hi, lo]
function shrHi(h: number, n: number): number { return n >= 32 ? 0 : h >>> n; }
function shrLo(h: number, l: number, n: number): number {
  return n >= 32 ? h >>> (n - 32) : ((l >>> n) | (h << (32 - n))) >>> 0;
}
function shlHi(h: number, l: number, n: number): number {
  return n >= 32 ? (l << (n - 32)) >>> 0 : ((h << n) | (l >>> (32 - n))) >>> 0;
}
function shlLo(l: number, n: number): number { return n >= 32 ? 0 : (l << n) >>> 0; }

/** port::FingerprintCat(x, y): mix(x, 0xe08c1d668b756f82, y), returning y. */
export function fingerprintCat(xh: number, xl: number, yh: number, yl: number, out: U64): U64 {
  ah = xh; al = xl; bh = 0xe08c1d66; bl = 0x8b756f82; ch = yh; cl = yl;
  subAB(); subAC(); al = (al ^ shrLo(ch, cl, 43)) >>> 0; ah = (ah ^ shrHi(ch, 43)) >>> 0;
  subBC(); subBA(); bh = (bh ^ shlHi(ah, al, 9)) >>> 0; bl = (bl ^ shlLo(al, 9)) >>> 0;
  subCA(); subCB(); cl = (cl ^ shrLo(bh, bl, 8)) >>> 0; ch = (ch ^ shrHi(bh, 8)) >>> 0;
  subAB(); subAC(); al = (al ^ shrLo(ch, cl, 38)) >>> 0; ah = (ah ^ shrHi(ch, 38)) >>> 0;
  subBC(); subBA(); bh = (bh ^ shlHi(ah, al, 23)) >>> 0; bl = (bl ^ shlLo(al, 23)) >>> 0;
  subCA(); subCB(); cl = (cl ^ shrLo(bh, bl, 5)) >>> 0; ch = (ch ^ shrHi(bh, 5)) >>> 0;
  subAB(); subAC(); al = (al ^ shrLo(ch, cl, 35)) >>> 0; ah = (ah ^ shrHi(ch, 35)) >>> 0;
  subBC(); subBA(); bh = (bh ^ shlHi(ah, al, 49)) >>> 0; bl = (bl ^ shlLo(al, 49)) >>> 0;
  subCA(); subCB(); cl = (cl ^ shrLo(bh, bl, 11)) >>> 0; ch = (ch ^ shrHi(bh, 11)) >>> 0;
  subAB(); subAC(); al = (al ^ shrLo(ch, cl, 12)) >>> 0; ah = (ah ^ shrHi(ch, 12)) >>> 0;
  subBC(); subBA(); bh = (bh ^ shlHi(ah, al, 18)) >>> 0; bl = (bl ^ shlLo(al, 18)) >>> 0;
  subCA(); subCB(); cl = (cl ^ shrLo(bh, bl, 22)) >>> 0; ch = (ch ^ shrHi(bh, 22)) >>> 0;
  out.hi = ch;
  out.lo = cl;
  return out;
}

/** (hi * 2^32 + lo) mod m, exact for m < 2^37 (16-bit steps keep products below 2^53). */
export function mod64(hi: number, lo: number, m: number): number {
  let r = hi % m;
  r = (r * 65536 + (lo >>> 16)) % m;
  return (r * 65536 + (lo & 0xffff)) % m;
}
