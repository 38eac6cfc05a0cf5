// Generator of the quantised matrix products: out (nTokens, rows) = W · x for one ggml
// block type, x given as Q8_0 activation groups. One exported function per type:
//
//   qmm_<type>(w, rowBytes, rowStart, rowEnd, nBlocks, xq, xd, xs, nTokens, out, outStride)
//
// w: address of row 0; rows rowStart..rowEnd-1 are computed; nBlocks: blocks per row.
// Activations, group-major so that a tile of tokens sits at constant offsets:
//   xq (nGroups, nTokens, 32) i8, xd (nGroups, nTokens) f32 scale, xs (nGroups, nTokens) f32
//   = xd * sum(xq) (used by the types with an offset).
// out[t * outStride + r] (f32). Rows are processed in bands of ROW_BAND; inside a band, tiles
// of 4 tokens (then single tokens, two rows at a time) scan each row, so each weight block is
// decoded once per 4 tokens and the band stays in cache while the tokens go by. Every output element is
// summed in the same order whatever the row range, so results do not depend on how rows
// are split between threads.

import { GGMLType } from "@llamats/tensor";
import type { FuncBuilder, Local, ModuleBuilder } from "../wasm/module.js";
import { ValType } from "../wasm/opcodes.js";
import type { DecodeLocals, GroupDecoder } from "./qtypes.js";
import { emitGenPrologue, emitGenTile, genLocals } from "./qgen.js";
import { GROUP, emitDot, emitGroup4, hsum, type TileLocals } from "./qdot.js";

export const ROW_BAND = 16;
/** Types whose single-token products use the across-groups tiles of qgen.ts. */
const GEN_ACROSS_GROUPS: ReadonlySet<GGMLType> = new Set([GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K]);


/**
 * Rows r .. r + nR - 1 times tokens t0 .. t0 + nT - 1 (nR * nT <= 4). Each (row, token)
 * element goes through exactly the same instruction sequence whatever the tile shape, so
 * results are bit-identical however rows and tokens are grouped. Params: 0 w, 1 rowBytes,
 * 4 nBlocks, 5 xq, 6 xd, 7 xs, 8 nTokens, 9 out, 10 outStride.
 */
function emitTile(f: FuncBuilder, dec: GroupDecoder, T: TileLocals, nR: number, nT: number, r: Local, t0: Local): void {
  const groups = dec.blockElems / GROUP;
  const hasMin = dec.hasMin || T.L[0]!.relaxed;
  const at = (rr: number, t: number) => rr * nT + t;
  const vec4 = nR === 1 && nT === 4; // token-vectorised tile (emitGroup4)
  if (vec4) {
    f.v128Splat8(0).set(T.acc[0]!);
    f.v128Splat8(0).set(T.acc[1]!);
  }
  for (let rr = 0; rr < nR; rr++) {
    for (let t = 0; t < nT && !vec4; t++) {
      f.v128Splat8(0).set(T.acc[at(rr, t)]!);
      if (hasMin) f.f32(0).set(T.macc[at(rr, t)]!);
    }
    f.get(f.param(0)).get(r).i32(rr).op("i32_add").get(f.param(1)).op("i32_mul").op("i32_add").set(T.L[rr]!.pw);
  }
  f.get(f.param(5)).get(t0).i32(GROUP).op("i32_mul").op("i32_add").set(T.px);
  f.get(f.param(6)).get(t0).i32(4).op("i32_mul").op("i32_add").set(T.pd);
  if (hasMin) f.get(f.param(7)).get(t0).i32(4).op("i32_mul").op("i32_add").set(T.ps);
  f.forRange(T.b, () => f.i32(0), f.param(4), 1, () => {
    for (let rr = 0; rr < nR; rr++) dec.block?.(f, T.L[rr]!);
    for (let g = 0; g < groups; g++) {
      for (let rr = 0; rr < nR; rr++) dec.group(f, T.L[rr]!, g);
      if (vec4) emitGroup4(f, dec, T, T.L[0]!, hasMin);
      for (let t = 0; t < nT && !vec4; t++) {
        const shared = nR > 1;
        if (shared && T.L[0]!.relaxed) for (let h = 0; h < 2; h++) f.get(T.px).vmem("v128_load", t * GROUP + 16 * h).set(T.xk[h]!);
        else if (shared) for (let k = 0; k < 4; k++) f.get(T.px).vmem("i16x8_load8x8_s", t * GROUP + 8 * k).set(T.xk[k]!);
        for (let rr = 0; rr < nR; rr++) emitDot(f, dec, T, T.L[rr]!, T.acc[at(rr, t)]!, T.macc[at(rr, t)]!, t, shared);
      }
      // Next group: nTokens * 32 bytes of xq, nTokens * 4 of xd / xs.
      f.get(T.px).get(T.xqStep).op("i32_add").set(T.px);
      f.get(T.pd).get(T.xdStep).op("i32_add").set(T.pd);
      if (hasMin) f.get(T.ps).get(T.xdStep).op("i32_add").set(T.ps);
    }
    for (let rr = 0; rr < nR; rr++) f.get(T.L[rr]!.pw).i32(dec.bytesPerBlock).op("i32_add").set(T.L[rr]!.pw);
  });
  if (vec4) {
    if (hasMin) f.get(T.acc[0]!).get(T.acc[1]!).v("f32x4_add").set(T.acc[0]!);
    for (let t = 0; t < 4; t++) {
      f.get(f.param(9)).get(t0).i32(t).op("i32_add").get(f.param(10)).op("i32_mul").get(r).op("i32_add").i32(2).op("i32_shl").op("i32_add");
      f.get(T.acc[0]!).lane("f32x4_extract_lane", t).mem("f32_store", 0);
    }
    return;
  }
  for (let rr = 0; rr < nR; rr++) {
    for (let t = 0; t < nT; t++) {
      // out[(t0 + t) * outStride + r + rr]
      f.get(f.param(9)).get(t0).i32(t).op("i32_add").get(f.param(10)).op("i32_mul").get(r).op("i32_add").i32(rr).op("i32_add").i32(2).op("i32_shl").op("i32_add");
      hsum(f, T.acc[at(rr, t)]!);
      if (hasMin) f.get(T.macc[at(rr, t)]!).op("f32_add");
      f.mem("f32_store", 0);
    }
  }
}

/** relaxed: use the relaxed-SIMD dot product (when dec.relaxedOk and the engine has it). */
export function emitQuantMatmul(m: ModuleBuilder, dec: GroupDecoder, exportName: string, relaxed = false): void {
  if (relaxed && !dec.relaxedOk) throw new RangeError(`no relaxed-SIMD form for type ${dec.type}`);
  const i32 = ValType.i32;
  const f = m.func(exportName, [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const v = () => f.local(ValType.v128);
  const decodeLocals = (): DecodeLocals => ({
    pw: f.local(i32), w: [v(), v(), v(), v()], t0: v(), t1: v(),
    dS: f.local(ValType.f32), mS: f.local(ValType.f32), sLo: f.local(i32), sHi: f.local(i32),
    dBlock: f.local(ValType.f32), dMin: f.local(ValType.f32), kv: [v(), v(), v(), v()], relaxed,
  });
  const T: TileLocals = {
    L: [decodeLocals(), decodeLocals()], acc: [v(), v(), v(), v()], macc: [0, 1, 2, 3].map(() => f.local(ValType.f32)),
    xk: [v(), v(), v(), v()], px: f.local(i32), pd: f.local(i32), ps: f.local(i32), b: f.local(i32),
    xqStep: f.local(i32), xdStep: f.local(i32),
  };
  const G = genLocals(f, 1);
  emitGenPrologue(f, G);
  f.get(f.param(8)).i32(5).op("i32_shl").set(T.xqStep);
  f.get(f.param(8)).i32(2).op("i32_shl").set(T.xdStep);
  const band = f.local(i32);
  const bandEnd = f.local(i32);
  const bandEndPair = f.local(i32); // bandEnd - 1: a row pair starts below it
  const r = f.local(i32);
  const t0 = f.local(i32);
  const nTok4 = f.local(i32); // nTokens rounded down to a multiple of 4
  f.get(f.param(8)).i32(~3).op("i32_and").set(nTok4);
  f.forRange(band, () => f.get(f.param(2)), f.param(3), ROW_BAND, () => {
    // bandEnd = min(band + ROW_BAND, rowEnd)
    f.get(band).i32(ROW_BAND).op("i32_add").get(f.param(3)).get(band).i32(ROW_BAND).op("i32_add").get(f.param(3)).op("i32_lt_s").op("select").set(bandEnd);
    f.get(bandEnd).i32(1).op("i32_sub").set(bandEndPair);
    // Tiles of 4 tokens x 1 row (prefill): each weight group decoded once per 4 tokens.
    f.forRange(t0, () => f.i32(0), nTok4, 4, () => {
      f.forRange(r, () => f.get(band), bandEnd, 1, () => emitTile(f, dec, T, 1, 4, r, t0));
    });
    // Remaining prefill tokens one at a time, rows in pairs: each activation chunk is loaded
    // once for two rows, and the two rows' chains interleave.
    const perToken = () => {
      f.forRange(t0, () => f.get(nTok4), f.param(8), 1, () => {
        f.forRange(r, () => f.get(band), bandEndPair, 2, () => emitTile(f, dec, T, 2, 1, r, t0));
        f.get(r).get(bandEnd).op("i32_lt_s").if(() => emitTile(f, dec, T, 1, 1, r, t0));
      });
    };
    // Generation (exactly one token): one row at a time, vectorised across groups (qgen.ts).
    // Measured (4096x4096, interleaved A/B): Q4_0 1.25x, Q4_1 1.2x, Q4_K 1.4x, Q6_K 1.15x over
    // the row pairs above; 2-row tiles of this form spill (x86 has 16 vector registers) and
    // lose. Q8_0, whose per-group float work is a smaller share, keeps the row pairs (faster).
    if (!GEN_ACROSS_GROUPS.has(dec.type)) perToken();
    else f.get(f.param(8)).i32(1).op("i32_eq").if(() => {
      f.forRange(r, () => f.get(band), bandEnd, 1, () => emitGenTile(f, dec, T, G, 1, r));
    }, perToken);
  });
}
