// The per-group dot products of the quantised matmul generators (qmatmul.ts for token
// tiles, qgen.ts for single-token tiles across groups): a row's decoded group of 32 weights
// times a token's Q8_0 activation group, as integer partial sums, then scaled in f32.

import type { FuncBuilder, Local } from "../wasm/module.js";
import type { DecodeLocals, GroupDecoder } from "./qtypes.js";

export const GROUP = 32;

export interface TileLocals {
  readonly L: readonly DecodeLocals[]; // per row of the tile
  readonly acc: Local[]; // v128 f32x4 per (row, token) of the tile
  readonly macc: Local[]; // f32 per (row, token)
  readonly xk: Local[]; // v128: the 4 widened activation chunks, shared by the rows of a tile
  readonly px: Local; // i32: xq of token t0 in the current group
  readonly pd: Local; // i32: xd of token t0 (xs at the same index)
  readonly ps: Local;
  readonly b: Local; // block counter
  readonly xqStep: Local; // nTokens * 32: xq bytes per group
  readonly xdStep: Local; // nTokens * 4: xd / xs bytes per group
}

/** Push the i32x4 partial integer sums of row L's group times token t (lanes sum to the dot). */
export function emitIsum(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, L: DecodeLocals, t: number, sharedX: boolean): void {
  const xOff = t * GROUP;
  if (L.relaxed) {
    // Two i16x8 pair sums (x86: pmaddubsw), added (|sum| <= 4 * 127 * 31 < 2^15), then
    // widened pairwise to i32x4 (pmaddwd): 32 products in 5 instructions.
    const x = (h: number) => (sharedX ? f.get(T.xk[h]!) : f.get(T.px).vmem("v128_load", xOff + 16 * h));
    x(0);
    f.get(L.w[0]).v("i16x8_relaxed_dot_i8x16_i7x16_s");
    x(1);
    f.get(L.w[1]).v("i16x8_relaxed_dot_i8x16_i7x16_s");
    f.v("i16x8_add").v("i32x4_extadd_pairwise_i16x8_s");
    return;
  }
  const dot = (k: number) => {
    f.get(L.w[k]);
    if (sharedX) f.get(T.xk[k]!);
    else f.get(T.px).vmem("i16x8_load8x8_s", xOff + 8 * k);
    f.v("i32x4_dot_i16x8_s");
  };
  dot(0);
  dot(1);
  f.v("i32x4_add");
  if (dec.halfScales) f.get(L.sLo).v("i32x4_splat").v("i32x4_mul");
  dot(2);
  dot(3);
  f.v("i32x4_add");
  if (dec.halfScales) f.get(L.sHi).v("i32x4_splat").v("i32x4_mul");
  f.v("i32x4_add");
}

/** Accumulate row L's group times token t into acc (f32x4 lanes) / macc (f32). */
export function emitDot(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, L: DecodeLocals, acc: Local, macc: Local, t: number, sharedX: boolean): void {
  emitIsum(f, dec, T, L, t, sharedX);
  f.v("f32x4_convert_i32x4_s");
  f.get(L.dS).get(T.pd).mem("f32_load", 4 * t).op("f32_mul").v("f32x4_splat").v("f32x4_mul");
  f.get(acc).v("f32x4_add").set(acc);
  if (dec.hasMin || L.relaxed) {
    f.get(macc).get(L.mS).get(T.ps).mem("f32_load", 4 * t).op("f32_mul").op("f32_add").set(macc);
  }
}

/**
 * The 4-token tile, vectorised across tokens: the four tokens' i32x4 partial sums are
 * transposed and added into one i32x4 of group totals (lane t = token t), converted once and
 * scaled by dS times the four tokens' xd (contiguous in the group-major layout); acc[0] and
 * acc[1] hold the f32x4 (token lanes) of the dot and offset terms.
 */
export function emitGroup4(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, L: DecodeLocals, hasMin: boolean): void {
  const s = T.xk; // four i32x4 scratch (xk is only used by the 2-row tiles)
  for (let t = 0; t < 4; t++) {
    emitIsum(f, dec, T, L, t, false);
    f.set(s[t]!);
  }
  const pairs = (a: Local, b: Local) => {
    // [a0+a2, b0+b2, a1+a3, b1+b3]
    f.get(a).get(b).shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]);
    f.get(a).get(b).shuffle([8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]);
    f.v("i32x4_add");
  };
  pairs(s[0]!, s[1]!);
  f.set(s[0]!);
  pairs(s[2]!, s[3]!);
  f.set(s[2]!);
  f.get(s[0]!).get(s[2]!).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  f.get(s[0]!).get(s[2]!).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]);
  f.v("i32x4_add").v("f32x4_convert_i32x4_s");
  f.get(L.dS).v("f32x4_splat").get(T.pd).vmem("v128_load", 0).v("f32x4_mul").v("f32x4_mul");
  f.get(T.acc[0]!).v("f32x4_add").set(T.acc[0]!);
  if (hasMin) {
    f.get(L.mS).v("f32x4_splat").get(T.ps).vmem("v128_load", 0).v("f32x4_mul");
    f.get(T.acc[1]!).v("f32x4_add").set(T.acc[1]!);
  }
}

/** Horizontal sum of an f32x4 local, lanes added as (0 + 1) + (2 + 3). */
export function hsum(f: FuncBuilder, v: Local): void {
  f.get(v).lane("f32x4_extract_lane", 0).get(v).lane("f32x4_extract_lane", 1).op("f32_add");
  f.get(v).lane("f32x4_extract_lane", 2).get(v).lane("f32x4_extract_lane", 3).op("f32_add");
  f.op("f32_add");
}
