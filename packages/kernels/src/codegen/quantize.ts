// Generator of the activation quantiser: rows of x (f32) to Q8_0 groups of 32 in the
// group-major layout the quantised kernels read (see activations.ts), in SIMD:
//
//   quant_q8_0(x, nTokens, cols, xq, dOut, sumOut)
//
// x (nTokens, cols) f32; xq (nGroups, nTokens, 32) i8; dOut (nGroups, nTokens) f32 = the
// float32 scale amax / 127 (before f16 rounding, which the caller applies: one value per
// group); sumOut (nGroups, nTokens) i32 = sum of the group's codes. Arithmetic is ggml's
// quantize_row_q8_0: d = amax / 127 and id = 1 / d in float32, q = roundf(x * id) with ties
// away from zero (trunc, then +-1 where |v - trunc(v)| >= 0.5).
//
// The "x4" form writes the Q4_0x4 kernel's activation records instead (xq = the records'
// address; dOut and sumOut unused): per (group, token), 48 bytes at xq + 48 * idx:
// [0] f32 d, [4] i32 sum of the codes, [16..47] the 32 codes (see q4_0x4.ts).

import type { ModuleBuilder } from "../wasm/module.js";
import { ValType } from "../wasm/opcodes.js";

function splat32(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff);
  return out;
}

export function emitQuantizeQ8_0(m: ModuleBuilder, exportName: string, layout: "standard" | "x4" = "standard"): void {
  const x4 = layout === "x4";
  const i32 = ValType.i32;
  const f = m.func(exportName, [i32, i32, i32, i32, i32, i32]);
  const [pX, pNTokens, pCols, pXq, pD, pSum] = [0, 1, 2, 3, 4, 5];
  const v = () => f.local(ValType.v128);
  const q = Array.from({ length: 8 }, v); // i32x4 codes of the 8 chunks
  const mx = v();
  const val = v();
  const tr = v();
  const t = f.local(i32);
  const g = f.local(i32);
  const nG = f.local(i32);
  const src = f.local(i32);
  const idx = f.local(i32); // g * nTokens + t
  const amax = f.local(ValType.f32);
  const d = f.local(ValType.f32);
  const id = f.local(ValType.f32);
  f.get(pCols).i32(5).op("i32_shr_u").set(nG);
  f.forRange(t, () => f.i32(0), pNTokens, 1, () => {
    f.forRange(g, () => f.i32(0), nG, 1, () => {
      // src = x + (t * cols + g * 32) * 4
      f.get(pX).get(t).get(pCols).op("i32_mul").get(g).i32(5).op("i32_shl").op("i32_add").i32(2).op("i32_shl").op("i32_add").set(src);
      f.get(src).vmem("v128_load", 0).v("f32x4_abs").set(mx);
      for (let k = 1; k < 8; k++) f.get(mx).get(src).vmem("v128_load", 16 * k).v("f32x4_abs").v("f32x4_max").set(mx);
      f.get(mx).lane("f32x4_extract_lane", 0).get(mx).lane("f32x4_extract_lane", 1).op("f32_max");
      f.get(mx).lane("f32x4_extract_lane", 2).get(mx).lane("f32x4_extract_lane", 3).op("f32_max").op("f32_max").set(amax);
      f.get(amax).f32(127).op("f32_div").set(d);
      f.get(d).f32(0).op("f32_ne").if(() => f.f32(1).get(d).op("f32_div").set(id), () => f.f32(0).set(id));
      for (let k = 0; k < 8; k++) {
        f.get(src).vmem("v128_load", 16 * k).get(id).v("f32x4_splat").v("f32x4_mul").set(val);
        f.get(val).v("f32x4_trunc").set(tr);
        // adj = |val - tr| >= 0.5 ? copysign(1, val) : +-0
        f.get(tr);
        f.v128Bytes(splat32(0x3f800000));
        f.get(val).get(tr).v("f32x4_sub").v("f32x4_abs").f32(0.5).v("f32x4_splat").v("f32x4_ge").v("v128_and");
        f.get(val).v128Bytes(splat32(0x80000000)).v("v128_and").v("v128_or");
        f.v("f32x4_add").v("i32x4_trunc_sat_f32x4_s").set(q[k]!);
      }
      f.get(g).get(pNTokens).op("i32_mul").get(t).op("i32_add").set(idx);
      // xq + idx * 32: two i8x16 from 8 i32x4 via two narrowing steps (codes fit in i8).
      const record = () => f.get(pXq).get(idx).i32(48).op("i32_mul").op("i32_add");
      for (let h = 0; h < 2; h++) {
        if (x4) record().i32(16).op("i32_add");
        else f.get(pXq).get(idx).i32(5).op("i32_shl").op("i32_add");
        f.get(q[4 * h]!).get(q[4 * h + 1]!).v("i16x8_narrow_i32x4_s");
        f.get(q[4 * h + 2]!).get(q[4 * h + 3]!).v("i16x8_narrow_i32x4_s");
        f.v("i8x16_narrow_i16x8_s").vmem("v128_store", 16 * h);
      }
      if (x4) record();
      else f.get(pD).get(idx).i32(2).op("i32_shl").op("i32_add");
      f.get(d).mem("f32_store", 0);
      f.get(q[0]!);
      for (let k = 1; k < 8; k++) f.get(q[k]!).v("i32x4_add");
      f.set(mx);
      if (x4) record().i32(4).op("i32_add");
      else f.get(pSum).get(idx).i32(2).op("i32_shl").op("i32_add");
      f.get(mx).lane("i32x4_extract_lane", 0).get(mx).lane("i32x4_extract_lane", 1).op("i32_add");
      f.get(mx).lane("i32x4_extract_lane", 2).get(mx).lane("i32x4_extract_lane", 3).op("i32_add").op("i32_add");
      f.mem("i32_store", 0);
    });
  });
}
