// Generator of the float matrix products: out (nTokens, rows) = W · x for F32 and F16
// weights with float32 activations.
//
//   fmm_<f32|f16>(w, rowBytes, rowStart, rowEnd, cols, x, nTokens, out, outStride)
//
// x (nTokens, cols) f32, contiguous; out[t * outStride + r]. Tiles of 4 tokens (then single
// tokens) over bands of rows, 8 columns per step with two f32x4 accumulators per token,
// then a scalar tail for cols % 8. F16 weights are widened exactly in registers: the
// exponent/mantissa bits shifted into an f32 and multiplied by 2^112 (normal and subnormal
// halves alike), Inf/NaN patched by a compare + bitselect.

import type { FuncBuilder, Local, ModuleBuilder } from "../wasm/module.js";
import { ValType } from "../wasm/opcodes.js";
import { hsum } from "./qdot.js";
import { ROW_BAND } from "./qmatmul.js";

/** Stack: i32x4 of f16 bit patterns (zero-extended) -> f32x4 magnitudes (sign not applied). */
function f16x4ToF32x4(f: FuncBuilder, tmp: Local, em: Local): void {
  f.set(tmp);
  f.get(tmp).v128Bytes(le32x4(0x7fff)).v("v128_and").set(em);
  // bitselect(special, finite, em > 0x7bff): Inf/NaN keep their mantissa under an all-ones exponent.
  f.get(em).i32(13).v("i32x4_shl").v128Bytes(le32x4(0x7f800000)).v("v128_or");
  f.get(em).i32(13).v("i32x4_shl").f32(2 ** 112).v("f32x4_splat").v("f32x4_mul");
  f.get(em).v128Bytes(le32x4(0x7bff)).v("i32x4_gt_s");
  f.v("v128_bitselect");
}

function le32x4(x: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff);
  return out;
}

export function emitFloatMatmul(m: ModuleBuilder, half: boolean, exportName: string): void {
  const i32 = ValType.i32;
  const f = m.func(exportName, [i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [pW, pRowBytes, pRowStart, pRowEnd, pCols, pX, pNTokens, pOut, pOutStride] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const v = () => f.local(ValType.v128);
  const acc = [v(), v(), v(), v(), v(), v(), v(), v()];
  const wa = v();
  const wb = v();
  const tmp = v();
  const em = v();
  const sign = v();
  const px = [0, 1, 2, 3].map(() => f.local(i32));
  const pw = f.local(i32);
  const c = f.local(i32);
  const cols8 = f.local(i32);
  const band = f.local(i32);
  const bandEnd = f.local(i32);
  const r = f.local(i32);
  const t0 = f.local(i32);
  const nTok4 = f.local(i32);
  const s = [0, 1, 2, 3].map(() => f.local(ValType.f32));
  const wScalar = f.local(ValType.f32);
  const eb = half ? 2 : 4; // bytes per weight

  /** Push 4 weights at pw + off as f32x4. */
  const loadW4 = (off: number) => {
    if (!half) {
      f.get(pw).vmem("v128_load", off);
      return;
    }
    f.get(pw).vmem("i32x4_load16x4_u", off).set(sign);
    f.get(sign).v128Bytes(le32x4(0x8000)).v("v128_and").i32(16).v("i32x4_shl");
    f.get(sign);
    f16x4ToF32x4(f, tmp, em);
    f.v("v128_or");
  };

  const tile = (nT: number) => {
    for (let k = 0; k < 2 * nT; k++) f.v128Splat8(0).set(acc[k]!);
    f.get(pW).get(r).get(pRowBytes).op("i32_mul").op("i32_add").set(pw);
    for (let t = 0; t < nT; t++) {
      f.get(pX).get(t0).i32(t).op("i32_add").get(pCols).op("i32_mul").i32(2).op("i32_shl").op("i32_add").set(px[t]!);
    }
    f.forRange(c, () => f.i32(0), cols8, 8, () => {
      loadW4(0);
      f.set(wa);
      loadW4(4 * eb);
      f.set(wb);
      for (let t = 0; t < nT; t++) {
        f.get(wa).get(px[t]!).vmem("v128_load", 0).v("f32x4_mul").get(acc[2 * t]!).v("f32x4_add").set(acc[2 * t]!);
        f.get(wb).get(px[t]!).vmem("v128_load", 16).v("f32x4_mul").get(acc[2 * t + 1]!).v("f32x4_add").set(acc[2 * t + 1]!);
        f.get(px[t]!).i32(32).op("i32_add").set(px[t]!);
      }
      f.get(pw).i32(8 * eb).op("i32_add").set(pw);
    });
    for (let t = 0; t < nT; t++) {
      f.get(acc[2 * t]!).get(acc[2 * t + 1]!).v("f32x4_add").set(acc[2 * t]!);
      hsum(f, acc[2 * t]!);
      f.set(s[t]!);
    }
    // Scalar tail: cols8 .. cols.
    f.forRange(c, () => f.get(cols8), pCols, 1, () => {
      if (half) f.get(pw).mem("i32_load16_u", 0).i32(2).op("i32_shl").mem("f32_load", 0);
      else f.get(pw).mem("f32_load", 0);
      f.set(wScalar);
      for (let t = 0; t < nT; t++) {
        f.get(s[t]!).get(wScalar).get(px[t]!).mem("f32_load", 0).op("f32_mul").op("f32_add").set(s[t]!);
        f.get(px[t]!).i32(4).op("i32_add").set(px[t]!);
      }
      f.get(pw).i32(eb).op("i32_add").set(pw);
    });
    for (let t = 0; t < nT; t++) {
      f.get(pOut).get(t0).i32(t).op("i32_add").get(pOutStride).op("i32_mul").get(r).op("i32_add").i32(2).op("i32_shl").op("i32_add");
      f.get(s[t]!).mem("f32_store", 0);
    }
  };

  f.get(pCols).i32(~7).op("i32_and").set(cols8);
  f.get(pNTokens).i32(~3).op("i32_and").set(nTok4);
  f.forRange(band, () => f.get(pRowStart), pRowEnd, ROW_BAND, () => {
    f.get(band).i32(ROW_BAND).op("i32_add").get(pRowEnd).get(band).i32(ROW_BAND).op("i32_add").get(pRowEnd).op("i32_lt_s").op("select").set(bandEnd);
    f.forRange(t0, () => f.i32(0), nTok4, 4, () => {
      f.forRange(r, () => f.get(band), bandEnd, 1, () => tile(4));
    });
    f.forRange(t0, () => f.get(nTok4), pNTokens, 1, () => {
      f.forRange(r, () => f.get(band), bandEnd, 1, () => tile(1));
    });
  });
}
