// Generation tiles of the quantised matmul (exactly one token: nTokens == 1), vectorised
// across groups. The per-token form (emitDot) does its float work once per 32 weights: look up
// the scale, multiply by the activation scale, splat, convert, multiply, add (plus the offset
// term in scalar code). Here four consecutive groups' i32x4 partial sums are transposed and
// added into one i32x4 of group totals (lane g = group g), converted once, and scaled by an
// f32x4 of the four weight scales times the four activation scales, which a single-token
// activation buffer holds contiguously (group-major layout, nTokens == 1). The offset terms
// (Q4_1/Q5_1/K mins, the relaxed form's code offset) become one f32x4 multiply-add too.
// Same integer dot products as emitDot; only the float summation order differs, and it is the
// same for every row, tile and thread (bit-identical across row splits).

import type { FuncBuilder, Local } from "../wasm/module.js";
import { ValType } from "../wasm/opcodes.js";
import type { DecodeLocals, GroupDecoder } from "./qtypes.js";
import { GROUP, emitDot, emitIsum, hsum, type TileLocals } from "./qdot.js";

export interface GenLocals {
  readonly s: Local[]; // per row: two i32x4 scratch (the groups of a pair)
  readonly u: Local[]; // per row: pair sums of groups 0 and 1
  readonly dv: Local[]; // per row: f32x4 weight scales of the four groups
  readonly mv: Local[]; // per row: f32x4 offset scales of the four groups
  readonly acc4: Local[]; // per row: f32x4, lane g = groups 4k + g summed over k
  readonly nb4: Local; // i32: blocks per row rounded down to a multiple of 4 (32-weight blocks)
}

export function genLocals(f: FuncBuilder, maxRows: number): GenLocals {
  const v = () => f.local(ValType.v128);
  const per = () => Array.from({ length: maxRows }, v);
  return { s: Array.from({ length: 2 * maxRows }, v), u: per(), dv: per(), mv: per(), acc4: per(), nb4: f.local(ValType.i32) };
}

/** [a0+a2, b0+b2, a1+a3, b1+b3] of two i32x4 locals. */
function pairs(f: FuncBuilder, a: Local, b: Local): void {
  f.get(a).get(b).shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]);
  f.get(a).get(b).shuffle([8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]);
  f.v("i32x4_add");
}

/**
 * Lane g of the four groups' scales dv and offset scales mv, from the decoder's dS / mS, or
 * whole vectors at once where the type has them: Q4_K/Q5_K's unpacked block scales (kv),
 * Q6_K's per-block d (its per-16 integer scales act on the integer sums), and the symmetric
 * types' relaxed-form offset mS = -offset * dS (one vector multiply for four groups).
 */
function emitScaleLanes(f: FuncBuilder, dec: GroupDecoder, L: DecodeLocals, dv: Local, mv: Local, g: number, g0: number, hasMin: boolean): void {
  if (dec.block && dec.hasMin) {
    if (g === 0) {
      f.get(L.kv[g0 >> 2]!).set(dv);
      f.get(L.kv[2 + (g0 >> 2)]!).set(mv);
    }
    return;
  }
  if (dec.halfScales) {
    if (g === 0) f.get(L.dS).v("f32x4_splat").set(dv);
    return;
  }
  if (g === 0) f.get(L.dS).v("f32x4_splat").set(dv);
  else f.get(dv).get(L.dS).lane("f32x4_replace_lane", g).set(dv);
  if (!hasMin) return;
  if (!dec.hasMin) {
    // relaxed symmetric type: mS = dS * -offset, exactly as the decoder's scalar product
    if (g === 3) f.get(dv).f32(-(dec.offset ?? 0)).v("f32x4_splat").v("f32x4_mul").set(mv);
    return;
  }
  if (g === 0) f.get(L.mS).v("f32x4_splat").set(mv);
  else f.get(mv).get(L.mS).lane("f32x4_replace_lane", g).set(mv);
}

/** Load the activation chunks of group g (token 0) into T.xk, shared by the rows of a tile. */
function loadSharedX(f: FuncBuilder, T: TileLocals, g: number): void {
  if (T.L[0]!.relaxed) for (let h = 0; h < 2; h++) f.get(T.px).vmem("v128_load", g * GROUP + 16 * h).set(T.xk[h]!);
  else for (let k = 0; k < 4; k++) f.get(T.px).vmem("i16x8_load8x8_s", g * GROUP + 8 * k).set(T.xk[k]!);
}

/**
 * Four groups for rows 0..nR-1 of the tile. 32-weight block types take one block per group
 * (pw advances after each); K types take groups g0..g0+3 of the current block.
 */
function emitStep(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, G: GenLocals, nR: number, g0: number): void {
  const perBlock = dec.blockElems === GROUP;
  const hasMin = dec.hasMin || T.L[0]!.relaxed;
  const shared = nR > 1;
  for (let g = 0; g < 4; g++) {
    for (let rr = 0; rr < nR; rr++) {
      const L = T.L[rr]!;
      dec.group(f, L, perBlock ? 0 : g0 + g);
      emitScaleLanes(f, dec, L, G.dv[rr]!, G.mv[rr]!, g, g0, hasMin);
      if (perBlock) f.get(L.pw).i32(dec.bytesPerBlock).op("i32_add").set(L.pw);
    }
    if (shared) loadSharedX(f, T, g);
    for (let rr = 0; rr < nR; rr++) {
      const s0 = G.s[2 * rr]!;
      const s1 = G.s[2 * rr + 1]!;
      emitIsum(f, dec, T, T.L[rr]!, g, shared);
      f.set((g & 1) === 0 ? s0 : s1);
      if (g === 1) {
        pairs(f, s0, s1);
        f.set(G.u[rr]!);
      } else if (g === 3) {
        pairs(f, s0, s1);
        f.set(s0);
        const u = G.u[rr]!;
        f.get(u).get(s0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
        f.get(u).get(s0).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]);
        f.v("i32x4_add").v("f32x4_convert_i32x4_s");
        f.get(G.dv[rr]!).v("f32x4_mul").get(T.pd).vmem("v128_load", 0).v("f32x4_mul");
        f.get(G.acc4[rr]!).v("f32x4_add").set(G.acc4[rr]!);
        if (hasMin) {
          f.get(G.mv[rr]!).get(T.ps).vmem("v128_load", 0).v("f32x4_mul");
          f.get(G.acc4[rr]!).v("f32x4_add").set(G.acc4[rr]!);
        }
      }
    }
  }
  // Next four groups: 4 * 32 bytes of xq, 4 * 4 of xd / xs (one token).
  f.get(T.px).i32(4 * GROUP).op("i32_add").set(T.px);
  f.get(T.pd).i32(16).op("i32_add").set(T.pd);
  if (hasMin) f.get(T.ps).i32(16).op("i32_add").set(T.ps);
}

/** Call once per function, before the tiles: nb4 = nBlocks & ~3. */
export function emitGenPrologue(f: FuncBuilder, G: GenLocals): void {
  f.get(f.param(4)).i32(~3).op("i32_and").set(G.nb4);
}

/**
 * Rows r .. r + nR - 1 times the only token. Params as emitTile: 0 w, 1 rowBytes, 4 nBlocks,
 * 5 xq, 6 xd, 7 xs, 9 out. 32-weight types run blocks in fours, then the remaining
 * nBlocks % 4 one group at a time (emitDot, into T.acc / T.macc).
 */
export function emitGenTile(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, G: GenLocals, nR: number, r: Local): void {
  const perBlock = dec.blockElems === GROUP;
  const hasMin = dec.hasMin || T.L[0]!.relaxed;
  for (let rr = 0; rr < nR; rr++) {
    f.v128Splat8(0).set(G.acc4[rr]!);
    if (perBlock) {
      f.v128Splat8(0).set(T.acc[rr]!);
      if (hasMin) f.f32(0).set(T.macc[rr]!);
    }
    f.get(f.param(0)).get(r).i32(rr).op("i32_add").get(f.param(1)).op("i32_mul").op("i32_add").set(T.L[rr]!.pw);
  }
  f.get(f.param(5)).set(T.px);
  f.get(f.param(6)).set(T.pd);
  if (hasMin) f.get(f.param(7)).set(T.ps);
  if (perBlock) {
    f.forRange(T.b, () => f.i32(0), G.nb4, 4, () => emitStep(f, dec, T, G, nR, 0));
    f.forRange(T.b, () => f.get(G.nb4), f.param(4), 1, () => {
      for (let rr = 0; rr < nR; rr++) dec.group(f, T.L[rr]!, 0);
      if (nR > 1) loadSharedX(f, T, 0);
      for (let rr = 0; rr < nR; rr++) emitDot(f, dec, T, T.L[rr]!, T.acc[rr]!, T.macc[rr]!, 0, nR > 1);
      f.get(T.px).i32(GROUP).op("i32_add").set(T.px);
      f.get(T.pd).i32(4).op("i32_add").set(T.pd);
      if (hasMin) f.get(T.ps).i32(4).op("i32_add").set(T.ps);
      for (let rr = 0; rr < nR; rr++) f.get(T.L[rr]!.pw).i32(dec.bytesPerBlock).op("i32_add").set(T.L[rr]!.pw);
    });
  } else {
    const steps = dec.blockElems / GROUP / 4;
    f.forRange(T.b, () => f.i32(0), f.param(4), 1, () => {
      for (let rr = 0; rr < nR; rr++) dec.block?.(f, T.L[rr]!);
      for (let k = 0; k < steps; k++) emitStep(f, dec, T, G, nR, 4 * k);
      for (let rr = 0; rr < nR; rr++) f.get(T.L[rr]!.pw).i32(dec.bytesPerBlock).op("i32_add").set(T.L[rr]!.pw);
    });
  }
  for (let rr = 0; rr < nR; rr++) {
    // out[r + rr] (one token)
    f.get(f.param(9)).get(r).i32(rr).op("i32_add").i32(2).op("i32_shl").op("i32_add");
    hsum(f, G.acc4[rr]!);
    if (perBlock) {
      hsum(f, T.acc[rr]!);
      if (hasMin) f.get(T.macc[rr]!).op("f32_add");
      f.op("f32_add");
    }
    f.mem("f32_store", 0);
  }
}
