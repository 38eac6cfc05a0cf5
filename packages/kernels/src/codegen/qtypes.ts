// Per-type block decoders for the quantised matmul generator. Each ggml block type is cut
// into groups of 32 weights (one group per Q8_0 activation block): a decoder emits code that
// leaves the group's 32 integer weights in four i16x8 locals (elements 0-7, 8-15, 16-23,
// 24-31) plus the group's float scale `dS` and, for types with an offset, `mS` such that
//   sum_j w_j * x_j = dS * dx * sum_j q_j * qx_j + mS * (dx * sum_j qx_j)
// where x = dx * qx is the Q8_0 activation group. Q6_K has one integer scale per 16 weights
// (`sLo`, `sHi`) applied to the integer sums before conversion.
// Layouts: ggml's block_q* structs (see @llamats/quant and CHINESE-LLAMA-ALPACA.md §10).

import { GGMLType } from "@llamats/tensor";
import type { FuncBuilder, Local } from "../wasm/module.js";

export interface DecodeLocals {
  readonly pw: Local; // i32: address of the current block
  readonly w: readonly [Local, Local, Local, Local]; // v128 i16x8 each
  readonly t0: Local; // v128 scratch
  readonly t1: Local; // v128 scratch
  readonly dS: Local; // f32
  readonly mS: Local; // f32
  readonly sLo: Local; // i32
  readonly sHi: Local; // i32
  readonly dBlock: Local; // f32: per-block scale (K types)
  readonly dMin: Local; // f32: per-block min scale (K types)
  /** K types: f32x4 d * scale of groups 0-3, 4-7, then -dmin * min of groups 0-3, 4-7. */
  readonly kv: readonly [Local, Local, Local, Local];
  /**
   * Relaxed-SIMD form: leave the group as two i8x16 of non-negative codes in w[0] (elements
   * 0-15) and w[1] (16-31), for i16x8.relaxed_dot_i8x16_i7x16_s, whose second operand must
   * be 0..127; a constant code offset (Q4_0's 8, Q5_0's 16) then moves into mS (times xs).
   */
  readonly relaxed: boolean;
}

export interface GroupDecoder {
  readonly type: GGMLType;
  readonly blockElems: number;
  readonly bytesPerBlock: number;
  readonly hasMin: boolean;
  readonly halfScales: boolean;
  /** Constant code offset of a symmetric type (Q4_0: 8, Q5_0: 16): relaxed form only. */
  readonly offset?: number;
  /** Codes are non-negative (or made so by an offset), so the relaxed form applies. */
  readonly relaxedOk: boolean;
  /** Once per block, before its groups (K types load their f16 scales here). */
  readonly block?: (f: FuncBuilder, L: DecodeLocals) => void;
  readonly group: (f: FuncBuilder, L: DecodeLocals, g: number) => void;
}

/** Push the f32 value of the f16 at pw + off (65,536-entry table at address 0). */
export function loadF16(f: FuncBuilder, pw: Local, off: number): void {
  f.get(pw).mem("i32_load16_u", off).i32(2).op("i32_shl").mem("f32_load", 0);
}

/**
 * From the i8x16 on the stack, widen into w[a] (low 8) and w[a+1] (high 8), signed; in the
 * relaxed form keep it as i8x16 in w[a / 2].
 */
function widen(f: FuncBuilder, L: DecodeLocals, a: 0 | 2): void {
  if (L.relaxed) {
    f.set(L.w[a / 2]!);
    return;
  }
  f.set(L.t0);
  f.get(L.t0).v("i16x8_extend_low_i8x16_s").set(L.w[a]);
  f.get(L.t0).v("i16x8_extend_high_i8x16_s").set(L.w[a + 1]);
}

/** Push the 16 nibbles (low or high) of the 16 bytes at pw + off as i8x16. */
function nibbles(f: FuncBuilder, pw: Local, off: number, high: boolean): void {
  f.get(pw).vmem("v128_load", off);
  if (high) f.i32(4).v("i8x16_shr_u");
  else f.v128Splat8(0x0f).v("v128_and");
}

/** Push 0x10 in each lane i of 16 where bit (firstBit + i) of the u32 at pw + off is set. */
function q5HighBits(f: FuncBuilder, pw: Local, off: number, firstBit: 0 | 16): void {
  const b = firstBit / 8;
  f.get(pw).mem("i32_load", off).v("i32x4_splat");
  f.get(pw).mem("i32_load", off).v("i32x4_splat"); // second operand of the shuffle (unused)
  f.shuffle([b, b, b, b, b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1]);
  const mask = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
  f.v128Bytes(mask).v("v128_and").v128Bytes(mask).v("i8x16_eq").v128Splat8(0x10).v("v128_and");
}

const q8_0: GroupDecoder = {
  type: GGMLType.Q8_0, blockElems: 32, bytesPerBlock: 34, hasMin: false, halfScales: false, relaxedOk: false,
  group(f, L) {
    for (let k = 0; k < 4; k++) f.get(L.pw).vmem("i16x8_load8x8_s", 2 + 8 * k).set(L.w[k]);
    loadF16(f, L.pw, 0);
    f.set(L.dS);
  },
};

function q4(type: GGMLType, hasMin: boolean): GroupDecoder {
  const qs = hasMin ? 4 : 2;
  return {
    type, blockElems: 32, bytesPerBlock: hasMin ? 20 : 18, hasMin, halfScales: false, relaxedOk: true, offset: hasMin ? 0 : 8,
    group(f, L) {
      for (const high of [false, true]) {
        nibbles(f, L.pw, qs, high);
        if (!hasMin && !L.relaxed) f.v128Splat8(8).v("i8x16_sub");
        widen(f, L, high ? 2 : 0);
      }
      loadF16(f, L.pw, 0);
      f.set(L.dS);
      if (hasMin) {
        loadF16(f, L.pw, 2);
        f.set(L.mS);
      } else if (L.relaxed) {
        f.get(L.dS).f32(-8).op("f32_mul").set(L.mS);
      }
    },
  };
}

function q5(type: GGMLType, hasMin: boolean): GroupDecoder {
  const qh = hasMin ? 4 : 2;
  const qs = qh + 4;
  return {
    type, blockElems: 32, bytesPerBlock: hasMin ? 24 : 22, hasMin, halfScales: false, relaxedOk: true, offset: hasMin ? 0 : 16,
    group(f, L) {
      for (const high of [false, true]) {
        nibbles(f, L.pw, qs, high);
        q5HighBits(f, L.pw, qh, high ? 16 : 0);
        f.v("v128_or");
        if (!hasMin && !L.relaxed) f.v128Splat8(16).v("i8x16_sub");
        widen(f, L, high ? 2 : 0);
      }
      loadF16(f, L.pw, 0);
      f.set(L.dS);
      if (hasMin) {
        loadF16(f, L.pw, 2);
        f.set(L.mS);
      } else if (L.relaxed) {
        f.get(L.dS).f32(-16).op("f32_mul").set(L.mS);
      }
    },
  };
}

// Q6_K: {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} = 210 bytes per 256 weights.
// Group g = 4n + c (n: 128-weight half, c: quarter) takes low (c < 2) or high nibbles of
// ql[64n + 32(c & 1) + l] and bits 2c..2c+1 of qh[32n + l], minus 32; scales[8n + 2c + l/16].
const q6_K: GroupDecoder = {
  type: GGMLType.Q6_K, blockElems: 256, bytesPerBlock: 210, hasMin: false, halfScales: true, relaxedOk: false,
  block(f, L) {
    loadF16(f, L.pw, 208);
    f.set(L.dS);
  },
  group(f, L, g) {
    const n = g >> 2;
    const c = g & 3;
    const qlOff = 64 * n + 32 * (c & 1);
    const qhOff = 128 + 32 * n;
    for (let half = 0; half < 2; half++) {
      nibbles(f, L.pw, qlOff + 16 * half, c >= 2);
      f.get(L.pw).vmem("v128_load", qhOff + 16 * half);
      // ((qh >> 2c) & 3) << 4 as one shift and a mask.
      const shift = 4 - 2 * c;
      if (shift > 0) f.i32(shift).v("i8x16_shl");
      else if (shift < 0) f.i32(-shift).v("i8x16_shr_u");
      f.v128Splat8(0x30).v("v128_and").v("v128_or");
      f.v128Splat8(32).v("i8x16_sub");
      widen(f, L, half === 0 ? 0 : 2);
    }
    f.get(L.pw).mem("i32_load8_s", 192 + 8 * n + 2 * c).set(L.sLo);
    f.get(L.pw).mem("i32_load8_s", 192 + 8 * n + 2 * c + 1).set(L.sHi);
  },
};

/** dS = d * scale, mS = -dmin * min (the group is d*sc*q - dmin*m), from kBlockScales. */
function kScales(f: FuncBuilder, L: DecodeLocals, g: number): void {
  f.get(L.kv[g >> 2]).lane("f32x4_extract_lane", g & 3).set(L.dS);
  f.get(L.kv[2 + (g >> 2)]).lane("f32x4_extract_lane", g & 3).set(L.mS);
}

/** Bytes 0-7 of the i8x16 on the stack (unsigned) -> two f32x4 times the f32 `scale`, negated if asked. */
function bytesToScaled(f: FuncBuilder, L: DecodeLocals, scale: Local, negate: boolean, out0: Local, out1: Local): void {
  f.v("i16x8_extend_low_i8x16_u").set(L.t1);
  for (const [ext, out] of [["i32x4_extend_low_i16x8_u", out0], ["i32x4_extend_high_i16x8_u", out1]] as const) {
    f.get(L.t1).v(ext).v("f32x4_convert_i32x4_s").get(scale).v("f32x4_splat").v("f32x4_mul");
    if (negate) f.v("f32x4_neg");
    f.set(out);
  }
}

/**
 * Once per K super-block: d, dmin, and ggml's get_scale_min_k4 for all 8 sub-blocks in SIMD
 * (scale j < 4: q[j] & 63, j >= 4: (q[j+4] & 15) | (q[j-4] >> 6) << 4; min j < 4: q[j+4] & 63,
 * j >= 4: (q[j+4] >> 4) | (q[j] >> 6) << 4, q = the 12 scale bytes), same products as the
 * scalar form.
 */
function kBlockScales(f: FuncBuilder, L: DecodeLocals): void {
  loadF16(f, L.pw, 0);
  f.set(L.dBlock);
  loadF16(f, L.pw, 2);
  f.set(L.dMin);
  const z4 = [0, 0, 0, 0];
  const pad = [0, 0, 0, 0, 0, 0, 0, 0];
  f.get(L.pw).vmem("v128_load", 4).set(L.t0); // scale bytes 0-11 (+4 bytes of what follows)
  // scales
  f.get(L.t0).get(L.t0).shuffle([0, 1, 2, 3, 8, 9, 10, 11, ...pad]).v128Bytes([63, 63, 63, 63, 15, 15, 15, 15, ...pad]).v("v128_and");
  f.get(L.t0).get(L.t0).shuffle([...z4, 0, 1, 2, 3, ...pad]).i32(2).v("i8x16_shr_u").v128Bytes([...z4, 0x30, 0x30, 0x30, 0x30, ...pad]).v("v128_and");
  f.v("v128_or");
  bytesToScaled(f, L, L.dBlock, false, L.kv[0], L.kv[1]);
  // mins
  f.get(L.t0).get(L.t0).shuffle([4, 5, 6, 7, 8, 9, 10, 11, ...pad]).set(L.w[0]);
  f.get(L.w[0]).v128Bytes([63, 63, 63, 63, ...z4, ...pad]).v("v128_and");
  f.get(L.w[0]).i32(4).v("i8x16_shr_u").v128Bytes([...z4, 15, 15, 15, 15, ...pad]).v("v128_and").v("v128_or");
  f.get(L.t0).get(L.t0).shuffle([...z4, 4, 5, 6, 7, ...pad]).i32(2).v("i8x16_shr_u").v128Bytes([...z4, 0x30, 0x30, 0x30, 0x30, ...pad]).v("v128_and");
  f.v("v128_or");
  bytesToScaled(f, L, L.dMin, true, L.kv[2], L.kv[3]);
}

// Q4_K: {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} = 144 bytes per 256 weights.
// Group g takes the low (g even) or high nibbles of qs[32 (g >> 1) + l].
const q4_K: GroupDecoder = {
  type: GGMLType.Q4_K, blockElems: 256, bytesPerBlock: 144, hasMin: true, halfScales: false, relaxedOk: true,
  block: kBlockScales,
  group(f, L, g) {
    const off = 16 + 32 * (g >> 1);
    for (let half = 0; half < 2; half++) {
      nibbles(f, L.pw, off + 16 * half, (g & 1) === 1);
      widen(f, L, half === 0 ? 0 : 2);
    }
    kScales(f, L, g);
  },
};

// Q5_K: {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]} = 176 bytes per 256 weights.
// Group g: nibbles as Q4_K (qs at 48), bit 4 from bit g of qh[l].
const q5_K: GroupDecoder = {
  type: GGMLType.Q5_K, blockElems: 256, bytesPerBlock: 176, hasMin: true, halfScales: false, relaxedOk: true,
  block: kBlockScales,
  group(f, L, g) {
    const off = 48 + 32 * (g >> 1);
    for (let half = 0; half < 2; half++) {
      nibbles(f, L.pw, off + 16 * half, (g & 1) === 1);
      f.get(L.pw).vmem("v128_load", 16 + 16 * half);
      if (g < 4) f.i32(4 - g).v("i8x16_shl");
      else if (g > 4) f.i32(g - 4).v("i8x16_shr_u");
      f.v128Splat8(0x10).v("v128_and").v("v128_or");
      widen(f, L, half === 0 ? 0 : 2);
    }
    kScales(f, L, g);
  },
};

export const groupDecoders: readonly GroupDecoder[] = [
  q8_0,
  q4(GGMLType.Q4_0, false),
  q4(GGMLType.Q4_1, true),
  q5(GGMLType.Q5_0, false),
  q5(GGMLType.Q5_1, true),
  q6_K,
  q4_K,
  q5_K,
];
