// Generator of the Q4_0x4 matrix product (layout in ../repack.ts), relaxed SIMD only:
//
//   qmm_q4_0x4(w, rowBytes, rowStart, rowEnd, nBlocks, xq, xd, xs, nTokens, out, rows)
//
// Same arguments as the other quantised kernels (qmatmul.ts), with outStride = rows (as
// WasmMatmul passes it). The activations come as records of 48 bytes per (group, token),
// group-major, at xa = align16(xs + 4 * nBlocks * nTokens) (quantize.ts's "x4" form):
//   [0] f32 xd, [4] i32 xi = -8 * sum(codes), [16..47] the 32 codes xq
// (xq/xd/xs themselves are read only by the plain kernel, for the tail rows).
// Per group of four rows, per block, per token (lane r = row r throughout):
//   s16  = sum over i of dot(splat(x[4i..4i+3]), lo(Vi)) + dot(splat(x[16+4i..]), hi(Vi))
//          (eight i16x8.relaxed_dot_i8x16_i7x16_s, x86 pmaddubsw; codes 0..15 are the i7
//          operand; each i16 lane sums 16 products, |.| <= 16 * 15 * 127 < 2^15)
//   s32  = extadd_pairwise(s16) + xi                    exact: sum (code - 8) * xq
//   acc += (f32(s32) * xd) * d                          d: the four rows' scales
// so the inner loop is loads, nibble masks, lane splats, dots and adds: no horizontal sums, no
// transposes, no scale table. A block's codes are unpacked once per tile of four tokens
// (prefill), and every (row, token) element goes through the same operations whatever the
// tile, the row range or the thread, so results are bit-identical across splits (edge groups
// are computed whole and only the range's rows stored). The last rows % 4 rows (standard
// layout) go to the plain Q4_0 kernel, called with the same arguments.
// Every load is at a static offset of 0, 16, 32, 48 or 64 (V8 11.3 holds one register per
// distinct offset for a whole function); the x splats are lane shuffles (pshufd) of two loads.

import type { FuncBuilder, Local, ModuleBuilder } from "../wasm/module.js";
import { ValType } from "../wasm/opcodes.js";

const RECORD = 72;

function splat32(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff);
  return out;
}
const F32_2_POW_112 = 0x77800000;

interface X4Locals {
  readonly lo: Local[];
  readonly hi: Local[];
  readonly v: Local; // raw 16 bytes
  readonly x: Local[]; // the token's codes 0-15 and 16-31
  readonly dx: Local; // [xd, xi, xd, xi]
  readonly m0f: Local; // 0x0f in every byte
  readonly d4: Local; // f32x4 scales of the four rows
  readonly acc: Local[]; // f32x4 per token of the tile
  readonly pw: Local;
  readonly pwEnd: Local;
  readonly pa: Local; // activation record of token t0, current group
  readonly pt: Local; // record of token t0 + t
  readonly aStep: Local; // nTokens * 48
}

const lane32 = (l: number) => [0, 1, 2, 3].flatMap(() => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/** The f32x4 of the four f16 scales: sign-extend, shift into f32 position, times 2^112. */
function emitScales(f: FuncBuilder, L: X4Locals): void {
  f.get(L.pw).vmem("v128_load64_splat", 64).v("i32x4_extend_low_i16x8_s").i32(13).v("i32x4_shl");
  // bits 30..28 hold copies of the sign after the shift: keep the sign (31) and bits 27..0
  f.v128Bytes(splat32(0x8fffffff)).v("v128_and");
  f.v128Bytes(splat32(F32_2_POW_112)).v("f32x4_mul").set(L.d4);
}

/** Codes of vector i of the record: lo = Vi & 15, hi = (Vi >> 4) & 15. */
function emitUnpack(f: FuncBuilder, L: X4Locals, i: number): void {
  f.get(L.pw).vmem("v128_load", 16 * i).set(L.v);
  f.get(L.v).get(L.m0f).v("v128_and").set(L.lo[i]!);
  f.get(L.v).i32(4).v("i16x8_shr_u").get(L.m0f).v("v128_and").set(L.hi[i]!);
}

/** Load token t's record (at pt) into x / dx. */
function emitLoadX(f: FuncBuilder, L: X4Locals): void {
  f.get(L.pt).vmem("v128_load64_splat", 0).set(L.dx);
  f.get(L.pt).vmem("v128_load", 16).set(L.x[0]!);
  f.get(L.pt).vmem("v128_load", 32).set(L.x[1]!);
}

/** Push dot(splat(x chunk i of half h), codes) as i16x8. */
function emitDot(f: FuncBuilder, L: X4Locals, h: 0 | 1, i: number): void {
  f.get(L.x[h]!).get(L.x[h]!).shuffle(lane32(i)).get((h === 0 ? L.lo : L.hi)[i]!).v("i16x8_relaxed_dot_i8x16_i7x16_s");
}

/** acc[t] += (f32(extadd(s16) + xi) * xd) * d4, s16 on the stack. */
function emitScale(f: FuncBuilder, L: X4Locals, t: number): void {
  f.v("i32x4_extadd_pairwise_i16x8_s");
  f.get(L.dx).get(L.dx).shuffle(lane32(1)).v("i32x4_add");
  f.v("f32x4_convert_i32x4_s");
  f.get(L.dx).get(L.dx).shuffle(lane32(0)).v("f32x4_mul");
  f.get(L.d4).v("f32x4_mul");
  f.get(L.acc[t]!).v("f32x4_add").set(L.acc[t]!);
}

/** Rows g .. g+3 (g a multiple of 4) times tokens t0 .. t0 + nT - 1. */
function emitTile(f: FuncBuilder, L: X4Locals, nT: number, g: Local, t0: Local, xa: Local): void {
  const [pW, pRowBytes, pRowStart, pRowEnd, pNBlocks, , , , , pOut, pStride] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  for (let t = 0; t < nT; t++) f.v128Splat8(0).set(L.acc[t]!);
  f.get(pW).get(g).get(pRowBytes).op("i32_mul").op("i32_add").set(L.pw);
  f.get(L.pw).get(pNBlocks).i32(RECORD).op("i32_mul").op("i32_add").set(L.pwEnd);
  f.get(xa).get(t0).i32(48).op("i32_mul").op("i32_add").set(L.pa);
  f.block(() => {
    f.get(pNBlocks).op("i32_eqz").brIf(0);
    f.loop(() => {
      emitScales(f, L);
      if (nT === 1) {
        // One token: loads in the order they are used (V8 keeps loads in program order).
        f.get(L.pa).set(L.pt);
        emitLoadX(f, L);
        for (let i = 0; i < 4; i++) {
          emitUnpack(f, L, i);
          emitDot(f, L, 0, i);
          if (i > 0) f.v("i16x8_add");
          emitDot(f, L, 1, i);
          f.v("i16x8_add");
        }
        emitScale(f, L, 0);
      } else {
        for (let i = 0; i < 4; i++) emitUnpack(f, L, i);
        for (let t = 0; t < nT; t++) {
          f.get(L.pa).i32(48 * t).op("i32_add").set(L.pt);
          emitLoadX(f, L);
          for (let i = 0; i < 4; i++) {
            emitDot(f, L, 0, i);
            if (i > 0) f.v("i16x8_add");
            emitDot(f, L, 1, i);
            f.v("i16x8_add");
          }
          emitScale(f, L, t);
        }
      }
      f.get(L.pa).get(L.aStep).op("i32_add").set(L.pa);
      f.get(L.pw).i32(RECORD).op("i32_add").tee(L.pw).get(L.pwEnd).op("i32_lt_u").brIf(0);
    });
  });
  // out[(t0 + t) * rows + g + r]: the whole vector when all four rows are in range.
  const addr = (t: number) => f.get(pOut).get(t0).i32(t).op("i32_add").get(pStride).op("i32_mul").get(g).op("i32_add").i32(2).op("i32_shl").op("i32_add");
  f.get(g).get(pRowStart).op("i32_ge_s").get(g).i32(4).op("i32_add").get(pRowEnd).op("i32_le_s").op("i32_and").if(() => {
    for (let t = 0; t < nT; t++) {
      addr(t);
      f.get(L.acc[t]!).vmem("v128_store", 0);
    }
  }, () => {
    for (let r = 0; r < 4; r++) {
      f.get(g).i32(r).op("i32_add").get(pRowStart).op("i32_ge_s").get(g).i32(r).op("i32_add").get(pRowEnd).op("i32_lt_s").op("i32_and").if(() => {
        for (let t = 0; t < nT; t++) {
          addr(t);
          f.get(L.acc[t]!).lane("f32x4_extract_lane", r).mem("f32_store", 4 * r);
        }
      });
    }
  });
}

/** Emit qmm_q4_0x4; `plainQ4_0` is the export name of the standard Q4_0 kernel (tail rows). */
export function emitQ4_0x4Matmul(m: ModuleBuilder, exportName: string, plainQ4_0: string): void {
  const i32 = ValType.i32;
  const plainIndex = m.indexOf(plainQ4_0);
  const f = m.func(exportName, [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [pRowStart, pRowEnd, pNBlocks, pXs, pNTokens, pStride] = [2, 3, 4, 7, 8, 10];
  const v = () => f.local(ValType.v128);
  const L: X4Locals = {
    lo: [v(), v(), v(), v()], hi: [v(), v(), v(), v()], v: v(), x: [v(), v()], dx: v(), m0f: v(), d4: v(), acc: [v(), v(), v(), v()],
    pw: f.local(i32), pwEnd: f.local(i32), pa: f.local(i32), pt: f.local(i32), aStep: f.local(i32),
  };
  const xa = f.local(i32);
  const rows4 = f.local(i32);
  const gEnd = f.local(i32);
  const g = f.local(i32);
  const t0 = f.local(i32);
  const nTok4 = f.local(i32);
  f.get(pStride).i32(~3).op("i32_and").set(rows4);
  // Tail rows (standard layout) on the plain kernel: rows max(rowStart, rows4) .. rowEnd.
  f.get(pRowEnd).get(rows4).op("i32_gt_s").if(() => {
    for (let i = 0; i < 11; i++) {
      if (i === pRowStart) f.get(pRowStart).get(rows4).get(pRowStart).get(rows4).op("i32_gt_s").op("select");
      else f.get(i);
    }
    f.call(plainIndex);
  });
  f.v128Splat8(0x0f).set(L.m0f);
  f.get(pNTokens).i32(48).op("i32_mul").set(L.aStep);
  // xa = align16(xs + 4 * nBlocks * nTokens)
  f.get(pXs).get(pNBlocks).get(pNTokens).op("i32_mul").i32(2).op("i32_shl").op("i32_add").i32(15).op("i32_add").i32(~15).op("i32_and").set(xa);
  f.get(pNTokens).i32(~3).op("i32_and").set(nTok4);
  // gEnd = min(rowEnd, rows4)
  f.get(pRowEnd).get(rows4).get(pRowEnd).get(rows4).op("i32_lt_s").op("select").set(gEnd);
  f.forRange(g, () => f.get(pRowStart).i32(~3).op("i32_and"), gEnd, 4, () => {
    f.forRange(t0, () => f.i32(0), nTok4, 4, () => emitTile(f, L, 4, g, t0, xa));
    f.forRange(t0, () => f.get(nTok4), pNTokens, 1, () => emitTile(f, L, 1, g, t0, xa));
  });
}

/**
 * Emit the in-place repack of standard Q4_0 rows to Q4_0x4 (layout in ../repack.ts):
 *
 *   repack_q4_0x4(p, nGroups, nBlocks, scratch) -> groups repacked
 *
 * p: row 0 of the matrix; nGroups = floor(rows / 4); scratch: 72 * nBlocks bytes in the same
 * memory. Each group of four rows is copied to scratch (memory.copy), its scales checked, and
 * its records written back over it: the four rows' 16 code bytes as a 4x4 transpose of
 * 32-bit lanes (byte 4r + c of Vi = qs[4i + c] of row r), then the scales. Stops before the
 * first group with an Inf/NaN scale (which the kernel's conversion cannot hold) and returns
 * its index; nGroups when all were repacked.
 */
export function emitRepackQ4_0x4(m: ModuleBuilder, exportName: string): void {
  const i32 = ValType.i32;
  const f = m.func(exportName, [i32, i32, i32, i32], [i32]);
  const [pP, pNGroups, pNBlocks, pScratch] = [0, 1, 2, 3];
  const v = () => f.local(ValType.v128);
  const q = [v(), v(), v(), v()];
  const t = [v(), v(), v(), v()];
  const g = f.local(i32);
  const base = f.local(i32);
  const rowBytes = f.local(i32);
  const groupBytes = f.local(i32);
  const j = f.local(i32);
  const nScales = f.local(i32);
  const bad = f.local(i32);
  const b = f.local(i32);
  const s = f.local(i32);
  const d = f.local(i32);
  f.get(pNBlocks).i32(18).op("i32_mul").set(rowBytes);
  f.get(rowBytes).i32(2).op("i32_shl").set(groupBytes);
  f.get(pNBlocks).i32(2).op("i32_shl").set(nScales);
  f.forRange(g, () => f.i32(0), pNGroups, 1, () => {
    f.get(pP).get(g).get(groupBytes).op("i32_mul").op("i32_add").set(base);
    f.get(pScratch).get(base).get(groupBytes).memoryCopy();
    // Any f16 scale with exponent 31 (Inf / NaN)? The group's 4 * nBlocks blocks are contiguous.
    f.i32(0).set(bad);
    f.forRange(j, () => f.i32(0), nScales, 1, () => {
      f.get(pScratch).get(j).i32(18).op("i32_mul").op("i32_add").mem("i32_load16_u", 0).i32(0x7c00).op("i32_and").i32(0x7c00).op("i32_eq");
      f.get(bad).op("i32_or").set(bad);
    });
    f.get(bad).if(() => f.get(g).op("return"));
    f.forRange(b, () => f.i32(0), pNBlocks, 1, () => {
      f.get(pScratch).get(b).i32(18).op("i32_mul").op("i32_add").set(s);
      f.get(base).get(b).i32(72).op("i32_mul").op("i32_add").set(d);
      for (let r = 0; r < 4; r++) {
        f.get(s).vmem("v128_load", 2).set(q[r]!);
        f.get(d).get(s).mem("i32_load16_u", 0).mem("i32_store16", 64 + 2 * r);
        if (r < 3) f.get(s).get(rowBytes).op("i32_add").set(s);
      }
      const lanes = (a: number, bb: number, c: number, dd: number) => [a, bb, c, dd].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
      // t0 = [q0.0, q1.0, q0.1, q1.1], t1 = the same of q2, q3; t2, t3: lanes 2 and 3.
      f.get(q[0]!).get(q[1]!).shuffle(lanes(0, 4, 1, 5)).set(t[0]!);
      f.get(q[2]!).get(q[3]!).shuffle(lanes(0, 4, 1, 5)).set(t[1]!);
      f.get(q[0]!).get(q[1]!).shuffle(lanes(2, 6, 3, 7)).set(t[2]!);
      f.get(q[2]!).get(q[3]!).shuffle(lanes(2, 6, 3, 7)).set(t[3]!);
      for (let i = 0; i < 4; i++) {
        const [x, y] = i < 2 ? [t[0]!, t[1]!] : [t[2]!, t[3]!];
        f.get(d).get(x).get(y).shuffle(i % 2 === 0 ? lanes(0, 1, 4, 5) : lanes(2, 3, 6, 7)).vmem("v128_store", 16 * i);
      }
    });
  });
  f.get(pNGroups);
}
