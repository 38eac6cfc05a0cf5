// Scalar twins of the WebAssembly kernels: the same traversal and the same float32 operation
// order as the emitted code, one lane at a time (Math.fround after every f32 operation), so a
// kernel can be held to its twin bit for bit (ggml's habit: each SIMD kernel beside a scalar
// *_ref it is tested against). The activation quantiser's twin is activations.ts.
//
// - fmatmulScalar: codegen/fmatmul.ts (F32 / F16 weights): per (row, token), two f32x4
//   accumulators over 8-column steps, lanes added pairwise, the horizontal sum
//   (0 + 1) + (2 + 3), then a scalar tail for cols % 8.
// - qmatmulScalar: codegen/qmatmul.ts + qdot.ts over Q8_0 activation groups (the plain SIMD
//   form, not relaxed), for every type with a WASM kernel (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
//   Q4_K, Q5_K, Q6_K): integer group dot products (exact), then either per-lane f32
//   accumulation and a final horizontal sum (tokens one at a time) or per-token totals
//   (tiles of 4 tokens, emitGroup4); single-token products of the types with an
//   across-groups tile follow qgen.ts (four groups' totals in the lanes of one f32x4, scaled
//   as (total * dS) * xd; for 32-weight types the nBlocks % 4 tail per lane, added at the end).
// - qmatmulScalar(..., { relaxed: true }): the relaxed-SIMD forms of Q4_0, Q4_1, Q5_0, Q5_1,
//   Q4_K, Q5_K (non-negative codes, the code offset in the offset term, relaxed lanes).
// - q4_0x4MatmulScalar: codegen/q4_0x4.ts (relaxed SIMD) on Q4_0 weights repacked to Q4_0x4
//   (repack.ts): per block the exact integer dot, then ((f32 sum * xd) * d) + acc.

import { GGMLType, f16ToF32, ggmlRowBytes, type WeightMatrix } from "@llamats/tensor";

const fround = Math.fround;

/** f32 decoding of weight element c of a row starting at byte `off` (F32 or F16). */
function floatWeights(w: WeightMatrix): (off: number, c: number) => number {
  const dv = new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
  if (w.type === GGMLType.F32) return (off, c) => dv.getFloat32(off + 4 * c, true);
  if (w.type === GGMLType.F16) return (off, c) => f16ToF32(dv.getUint16(off + 2 * c, true));
  throw new RangeError(`fmatmulScalar: type ${w.type} is not F32 or F16`);
}

/** out[t * rows + r] = row r of w · x[t], in the WASM float kernel's f32 order. */
export function fmatmulScalar(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): void {
  const { rows, cols } = w;
  const rowBytes = ggmlRowBytes(w.type, cols);
  const wt = floatWeights(w);
  const cols8 = cols & ~7;
  const a = new Float32Array(4); // lanes of the first accumulator (columns c .. c+3 of each step)
  const b = new Float32Array(4); // the second (c+4 .. c+7)
  for (let r = 0; r < rows; r++) {
    const off = r * rowBytes;
    for (let t = 0; t < nTokens; t++) {
      const xo = t * cols;
      a.fill(0);
      b.fill(0);
      for (let c = 0; c < cols8; c += 8) {
        for (let l = 0; l < 4; l++) {
          a[l] = fround(a[l] + fround(wt(off, c + l) * x[xo + c + l]));
          b[l] = fround(b[l] + fround(wt(off, c + 4 + l) * x[xo + c + 4 + l]));
        }
      }
      for (let l = 0; l < 4; l++) a[l] = fround(a[l] + b[l]);
      let s = fround(fround(a[0] + a[1]) + fround(a[2] + a[3]));
      for (let c = cols8; c < cols; c++) s = fround(s + fround(wt(off, c) * x[xo + c]));
      out[t * rows + r] = s;
    }
  }
}

/** One decoded group of 32 weights: integer codes and the float scales of qtypes.ts. */
interface Group {
  readonly q: Int32Array; // (32)
  dS: number;
  mS: number; // offset term's scale (types with a min), else 0
  /** Q6_K: integer scales of elements 0-15 and 16-31, applied to the integer lane sums. */
  sLo?: number;
  sHi?: number;
}

interface ScalarDecoder {
  /** Single-token products run qgen.ts's across-groups tile (GEN_ACROSS_GROUPS in qmatmul.ts). */
  readonly genAcrossGroups: boolean;
  readonly blockElems: number;
  readonly bytesPerBlock: number;
  readonly hasMin: boolean;
  /** The relaxed-SIMD form's lanes (see isumLanes). */
  readonly relaxedLanes?: boolean;
  /** Fill `g` with group `gi` of the block at byte `off`. */
  decode(bytes: Uint8Array, dv: DataView, off: number, gi: number, g: Group): void;
}

const f16At = (dv: DataView, off: number) => f16ToF32(dv.getUint16(off, true));

/**
 * 16 bytes of nibbles: element j = low nibble of byte j, j + 16 = the high one; with `qh`
 * (Q5 types) bit j of qh adds 16 to element j; then minus `offset`.
 */
function nibbles(bytes: Uint8Array, off: number, offset: number, q: Int32Array, qh = 0): void {
  for (let j = 0; j < 16; j++) {
    q[j] = ((bytes[off + j]! & 15) | (((qh >>> j) & 1) << 4)) - offset;
    q[j + 16] = ((bytes[off + j]! >> 4) | (((qh >>> (j + 16)) & 1) << 4)) - offset;
  }
}

const DECODERS: Partial<Record<GGMLType, ScalarDecoder>> = {
  // block_q8_0: d (f16), qs[32] (i8).
  [GGMLType.Q8_0]: {
    genAcrossGroups: false, blockElems: 32, bytesPerBlock: 34, hasMin: false,
    decode(bytes, dv, off, _gi, g) {
      for (let j = 0; j < 32; j++) g.q[j] = (bytes[off + 2 + j]! << 24) >> 24;
      g.dS = f16At(dv, off);
      g.mS = 0;
    },
  },
  // block_q4_0: d (f16), qs[16]: element j = low nibble of qs[j] - 8, j + 16 = high nibble - 8.
  [GGMLType.Q4_0]: {
    genAcrossGroups: true, blockElems: 32, bytesPerBlock: 18, hasMin: false,
    decode(bytes, dv, off, _gi, g) {
      nibbles(bytes, off + 2, 8, g.q);
      g.dS = f16At(dv, off);
      g.mS = 0;
    },
  },
  // block_q4_1: d, m (f16), qs[16]: nibbles as Q4_0 without the offset; w = d q + m.
  [GGMLType.Q4_1]: {
    genAcrossGroups: true, blockElems: 32, bytesPerBlock: 20, hasMin: true,
    decode(bytes, dv, off, _gi, g) {
      nibbles(bytes, off + 4, 0, g.q);
      g.dS = f16At(dv, off);
      g.mS = f16At(dv, off + 2);
    },
  },
  // block_q5_0: d (f16), qh (u32: bit 4 of each code), qs[16]; codes minus 16.
  [GGMLType.Q5_0]: {
    genAcrossGroups: true, blockElems: 32, bytesPerBlock: 22, hasMin: false,
    decode(bytes, dv, off, _gi, g) {
      nibbles(bytes, off + 6, 16, g.q, dv.getUint32(off + 2, true));
      g.dS = f16At(dv, off);
      g.mS = 0;
    },
  },
  // block_q5_1: d, m (f16), qh, qs[16]; w = d q + m.
  [GGMLType.Q5_1]: {
    genAcrossGroups: true, blockElems: 32, bytesPerBlock: 24, hasMin: true,
    decode(bytes, dv, off, _gi, g) {
      nibbles(bytes, off + 8, 0, g.q, dv.getUint32(off + 4, true));
      g.dS = f16At(dv, off);
      g.mS = f16At(dv, off + 2);
    },
  },
  // block_q4_K: d, dmin (f16), scales[12] (6-bit scale / min per 32-weight group, packed as
  // ggml's get_scale_min_k4), qs[128]: group g = low (g even) or high nibbles of
  // qs[32 (g >> 1) + l]; dS = f32(d * scale), mS = -f32(dmin * min).
  [GGMLType.Q4_K]: kQuant(144, 16, false),
  // block_q5_K: as Q4_K with qh[32] at 16 (bit g of qh[l] is bit 4 of group g's code l), qs at 48.
  [GGMLType.Q5_K]: kQuant(176, 48, true),
  // block_q6_K: ql[128], qh[64], scales[16] (i8), d (f16): group g = 4n + c takes the low
  // (c < 2) or high nibbles of ql[64n + 32(c & 1) + l] and bits 2c..2c+1 of qh[32n + l],
  // minus 32; integer scales scales[8n + 2c] (elements 0-15) and [8n + 2c + 1] (16-31).
  [GGMLType.Q6_K]: {
    genAcrossGroups: true, blockElems: 256, bytesPerBlock: 210, hasMin: false,
    decode(bytes, dv, off, gi, g) {
      const n = gi >> 2;
      const c = gi & 3;
      const ql = off + 64 * n + 32 * (c & 1);
      const qh = off + 128 + 32 * n;
      for (let l = 0; l < 32; l++) {
        const nib = c < 2 ? bytes[ql + l]! & 15 : bytes[ql + l]! >> 4;
        g.q[l] = (nib | (((bytes[qh + l]! >> (2 * c)) & 3) << 4)) - 32;
      }
      g.sLo = (bytes[off + 192 + 8 * n + 2 * c]! << 24) >> 24;
      g.sHi = (bytes[off + 192 + 8 * n + 2 * c + 1]! << 24) >> 24;
      g.dS = f16At(dv, off + 208);
      g.mS = 0;
    },
  },
};

function kQuant(bytesPerBlock: number, qsOff: number, withQh: boolean): ScalarDecoder {
  return {
    genAcrossGroups: true, blockElems: 256, bytesPerBlock, hasMin: true,
    decode(bytes, dv, off, gi, g) {
      const q = (j: number) => bytes[off + 4 + j]!;
      const sc = gi < 4 ? q(gi) & 63 : (q(gi + 4) & 15) | ((q(gi - 4) >> 6) << 4);
      const m = gi < 4 ? q(gi + 4) & 63 : (q(gi + 4) >> 4) | ((q(gi) >> 6) << 4);
      const base = off + qsOff + 32 * (gi >> 1);
      for (let l = 0; l < 32; l++) {
        const nib = (gi & 1) === 0 ? bytes[base + l]! & 15 : bytes[base + l]! >> 4;
        g.q[l] = withQh ? nib | (((bytes[off + 16 + l]! >> gi) & 1) << 4) : nib;
      }
      g.dS = fround(sc * f16At(dv, off));
      g.mS = -fround(m * f16At(dv, off + 2));
    },
  };
}

/** What every quantised twin walks with: shapes, a byte view, one decoded group, dot lanes. */
function walk(w: WeightMatrix, dec: ScalarDecoder) {
  return {
    rows: w.rows, rowBytes: ggmlRowBytes(w.type, w.cols), groups: dec.blockElems / 32, nBlocks: w.cols / dec.blockElems,
    dv: new DataView(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength),
    g: { q: new Int32Array(32), dS: 0, mS: 0 } as Group, lanes: new Int32Array(4),
  };
}

export const SCALAR_QMATMUL_TYPES: readonly GGMLType[] = Object.keys(DECODERS).map(Number) as GGMLType[];

/**
 * The relaxed-SIMD form (qtypes.ts with `relaxed`): codes stay non-negative (the i7 operand of
 * i16x8.relaxed_dot_i8x16_i7x16_s), a symmetric type's code offset moves into the offset
 * term, mS = fround(dS * -offset), so every relaxed type sums an offset term.
 */
const RELAXED_OFFSETS: Partial<Record<GGMLType, number>> = {
  [GGMLType.Q4_0]: 8, [GGMLType.Q4_1]: 0, [GGMLType.Q5_0]: 16, [GGMLType.Q5_1]: 0, [GGMLType.Q4_K]: 0, [GGMLType.Q5_K]: 0,
};
export const SCALAR_RELAXED_QMATMUL_TYPES: readonly GGMLType[] = Object.keys(RELAXED_OFFSETS).map(Number) as GGMLType[];

function relaxedDecoder(type: GGMLType): ScalarDecoder {
  const base = DECODERS[type]!;
  const offset = RELAXED_OFFSETS[type]!;
  return {
    ...base, hasMin: true, relaxedLanes: true,
    decode(bytes, dv, off, gi, g) {
      base.decode(bytes, dv, off, gi, g);
      if (offset === 0) return;
      for (let j = 0; j < 32; j++) g.q[j] = g.q[j]! + offset;
      g.mS = fround(g.dS * -offset);
    },
  };
}

/**
 * The i32x4 lanes of a group's integer dot (i32x4.dot_i16x8_s over 4 chunks of 8: lane l
 * gets elements 8k + 2l, 8k + 2l + 1); Q6_K's chunks 0-1 and 2-3 times sLo / sHi. Relaxed
 * form (two i16x8 relaxed dots over elements 0-15 and 16-31, added, extadd_pairwise): lane l
 * gets elements 4l .. 4l + 3 and 16 + 4l .. 16 + 4l + 3.
 */
function isumLanes(g: Group, xq: Int8Array, xOff: number, lanes: Int32Array, relaxed = false): void {
  const q = g.q;
  if (relaxed) {
    for (let l = 0; l < 4; l++) {
      let s = 0;
      for (let c = 0; c < 4; c++) for (const j of [4 * l + c, 16 + 4 * l + c]) s += q[j]! * xq[xOff + j]!;
      lanes[l] = s;
    }
    return;
  }
  for (let l = 0; l < 4; l++) {
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < 4; k++) {
      const j = 8 * k + 2 * l;
      const p = q[j]! * xq[xOff + j]! + q[j + 1]! * xq[xOff + j + 1]!;
      if (k < 2) lo += p;
      else hi += p;
    }
    lanes[l] = g.sLo === undefined ? lo + hi : lo * g.sLo + hi * g.sHi!;
  }
}

/**
 * out[t * outStride + r] = row r of w · the Q8_0 activations (xq, xd, xs as
 * quantizeActivationsQ8_0 lays them out, group-major), in the plain-SIMD quantised kernel's
 * order: tokens in tiles of 4 (per-token totals), the rest one at a time (per-lane sums).
 */
export function qmatmulScalar(out: Float32Array, w: WeightMatrix, xq: Int8Array, xd: Float32Array, xs: Float32Array, nTokens: number,
  opts: { relaxed?: boolean } = {}): void {
  if (opts.relaxed && RELAXED_OFFSETS[w.type] === undefined) throw new RangeError(`qmatmulScalar: no relaxed form for type ${w.type}`);
  const dec = opts.relaxed ? relaxedDecoder(w.type) : DECODERS[w.type];
  if (!dec) throw new RangeError(`qmatmulScalar: no twin for type ${w.type}`);
  const { rows, rowBytes, groups: groupsPerBlock, nBlocks, dv, g, lanes } = walk(w, dec);
  const acc = new Float32Array(4);
  const nTok4 = nTokens & ~3;
  if (nTokens === 1 && dec.genAcrossGroups) {
    if (dec.blockElems === 32) genScalar(out, w, dec, xq, xd, xs);
    else genScalarK(out, w, dec, xq, xd, xs);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const rowOff = r * rowBytes;
    const each = (fn: (gIndex: number) => void) => {
      for (let b = 0; b < nBlocks; b++) {
        for (let gi = 0; gi < groupsPerBlock; gi++) {
          dec.decode(w.bytes, dv, rowOff + b * dec.bytesPerBlock, gi, g);
          fn(b * groupsPerBlock + gi);
        }
      }
    };
    // Tiles of 4 tokens (emitGroup4): lane t = token t's exact group total, converted, times
    // fround(dS * xd); offset terms in a second f32x4, added at the end.
    for (let t0 = 0; t0 < nTok4; t0 += 4) {
      const dot = new Float32Array(4);
      const min = new Float32Array(4);
      each((gIndex) => {
        for (let t = 0; t < 4; t++) {
          const ix = gIndex * nTokens + t0 + t;
          isumLanes(g, xq, ix * 32, lanes, dec.relaxedLanes);
          const total = lanes[0]! + lanes[1]! + lanes[2]! + lanes[3]!;
          dot[t] = fround(fround(fround(total) * fround(g.dS * xd[ix]!)) + dot[t]!);
          if (dec.hasMin) min[t] = fround(fround(g.mS * xs[ix]!) + min[t]!);
        }
      });
      for (let t = 0; t < 4; t++) out[(t0 + t) * rows + r] = dec.hasMin ? fround(dot[t]! + min[t]!) : dot[t]!;
    }
    // Tokens one at a time (emitDot): per-lane f32 accumulation, horizontal sum, then the
    // scalar offset sum.
    for (let t = nTok4; t < nTokens; t++) {
      acc.fill(0);
      let macc = 0;
      each((gIndex) => {
        const ix = gIndex * nTokens + t;
        isumLanes(g, xq, ix * 32, lanes, dec.relaxedLanes);
        const scale = fround(g.dS * xd[ix]!);
        for (let l = 0; l < 4; l++) acc[l] = fround(fround(fround(lanes[l]!) * scale) + acc[l]!);
        if (dec.hasMin) macc = fround(macc + fround(g.mS * xs[ix]!));
      });
      let s = fround(fround(acc[0]! + acc[1]!) + fround(acc[2]! + acc[3]!));
      if (dec.hasMin) s = fround(s + macc);
      out[t * rows + r] = s;
    }
  }
}

/** qgen.ts's single-token tile for 256-weight K types: groups 4k .. 4k+3 of a block in the lanes. */
function genScalarK(out: Float32Array, w: WeightMatrix, dec: ScalarDecoder, xq: Int8Array, xd: Float32Array, xs: Float32Array): void {
  const { rows, rowBytes, groups, nBlocks, dv, g, lanes } = walk(w, dec);
  const acc4 = new Float32Array(4);
  for (let r = 0; r < rows; r++) {
    acc4.fill(0);
    for (let b = 0; b < nBlocks; b++) {
      for (let gi = 0; gi < groups; gi++) {
        const ix = b * groups + gi;
        dec.decode(w.bytes, dv, r * rowBytes + b * dec.bytesPerBlock, gi, g);
        isumLanes(g, xq, ix * 32, lanes, dec.relaxedLanes);
        const total = lanes[0]! + lanes[1]! + lanes[2]! + lanes[3]!;
        const k = gi & 3;
        acc4[k] = fround(fround(fround(fround(total) * g.dS) * xd[ix]!) + acc4[k]!);
        if (dec.hasMin) acc4[k] = fround(fround(g.mS * xs[ix]!) + acc4[k]!);
      }
    }
    out[r] = fround(fround(acc4[0]! + acc4[1]!) + fround(acc4[2]! + acc4[3]!));
  }
}

/** qgen.ts's single-token tile for 32-weight block types (one group per block). */
function genScalar(out: Float32Array, w: WeightMatrix, dec: ScalarDecoder, xq: Int8Array, xd: Float32Array, xs: Float32Array): void {
  const { rows, rowBytes, nBlocks, dv, g, lanes } = walk(w, dec);
  const nb4 = nBlocks & ~3;
  const acc4 = new Float32Array(4); // lane k: blocks 4i + k
  const acc = new Float32Array(4); // the tail's per-lane sums (emitDot)
  for (let r = 0; r < rows; r++) {
    const rowOff = r * rowBytes;
    acc4.fill(0);
    acc.fill(0);
    let macc = 0;
    for (let b = 0; b < nb4; b += 4) {
      for (let k = 0; k < 4; k++) {
        dec.decode(w.bytes, dv, rowOff + (b + k) * dec.bytesPerBlock, 0, g);
        isumLanes(g, xq, (b + k) * 32, lanes, dec.relaxedLanes);
        const total = lanes[0]! + lanes[1]! + lanes[2]! + lanes[3]!;
        acc4[k] = fround(fround(fround(fround(total) * g.dS) * xd[b + k]!) + acc4[k]!);
        if (dec.hasMin) acc4[k] = fround(fround(g.mS * xs[b + k]!) + acc4[k]!);
      }
    }
    for (let b = nb4; b < nBlocks; b++) {
      dec.decode(w.bytes, dv, rowOff + b * dec.bytesPerBlock, 0, g);
      isumLanes(g, xq, b * 32, lanes, dec.relaxedLanes);
      const scale = fround(g.dS * xd[b]!);
      for (let l = 0; l < 4; l++) acc[l] = fround(fround(fround(lanes[l]!) * scale) + acc[l]!);
      if (dec.hasMin) macc = fround(macc + fround(g.mS * xs[b]!));
    }
    const hsum = (v: Float32Array) => fround(fround(v[0]! + v[1]!) + fround(v[2]! + v[3]!));
    let tail = hsum(acc);
    if (dec.hasMin) tail = fround(tail + macc);
    out[r] = fround(hsum(acc4) + tail);
  }
}

/**
 * Twin of codegen/q4_0x4.ts on a Q4_0x4 matrix (repack.ts): rows 0 .. 4 * floor(rows / 4) - 1
 * of out (nTokens, rows); the standard-layout tail rows are the plain Q4_0 kernel's and are
 * left as they are. Per (row, token): per block the exact integer sum (code - 8) * xq, then
 * acc = fround(fround(fround(sum) * xd) * d) + acc, blocks in order.
 */
export function q4_0x4MatmulScalar(out: Float32Array, bytes: Uint8Array, rows: number, cols: number,
  xq: Int8Array, xd: Float32Array, nTokens: number): void {
  const nBlocks = cols / 32;
  const rowBytes = nBlocks * 18;
  const rows4 = rows & ~3;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let g = 0; g < rows4; g += 4) {
    for (let t = 0; t < nTokens; t++) {
      for (let r = 0; r < 4; r++) {
        let acc = 0;
        for (let b = 0; b < nBlocks; b++) {
          const rec = g * rowBytes + b * 72;
          const ix = b * nTokens + t;
          let sum = 0;
          for (let i = 0; i < 4; i++) {
            for (let c = 0; c < 4; c++) {
              const byte = bytes[rec + 16 * i + 4 * r + c]!;
              sum += ((byte & 15) - 8) * xq[ix * 32 + 4 * i + c]! + ((byte >> 4) - 8) * xq[ix * 32 + 16 + 4 * i + c]!;
            }
          }
          const d = f16At(dv, rec + 64 + 2 * r);
          acc = fround(fround(fround(fround(sum) * xd[ix]!) * d) + acc);
        }
        out[t * rows + g + r] = acc;
      }
    }
  }
}
