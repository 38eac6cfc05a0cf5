// Activation quantisation for the quantised kernels: each row of x is cut into groups of 32
// and quantised to Q8_0 exactly as ggml's quantize_row_q8_0 does (float32 arithmetic,
// d = amax / 127, q = roundf(x / d) half away from zero, d stored as f16, round to nearest
// even); the kernels use the f16-rounded d, as ggml's dot products do.
// Layout (group-major, so a tile of tokens sits at constant offsets, see qmatmul.ts):
//   xq (nGroups, nTokens, 32) i8;  xd (nGroups, nTokens) f32 = f16(d);  xs (nGroups, nTokens)
//   f32 = xd * sum(q), the term the offset types (Q4_1, Q5_1, Q4_K, Q5_K) need (Q8_1's `s`).

import { f16ToF32, f32ToF16 } from "@llamats/tensor";

const fround = Math.fround;

export function quantizeActivationsQ8_0(
  x: Float32Array, // (nTokens, cols)
  nTokens: number,
  cols: number,
  xq: Int8Array,
  xd: Float32Array,
  xs: Float32Array,
): void {
  const nG = cols >> 5;
  for (let t = 0; t < nTokens; t++) {
    const row = t * cols;
    for (let g = 0; g < nG; g++) {
      const src = row + (g << 5);
      let amax = 0;
      for (let j = 0; j < 32; j++) {
        const a = Math.abs(x[src + j]!);
        if (a > amax) amax = a;
      }
      const d = fround(amax / 127);
      const id = d ? fround(1 / d) : 0;
      const dst = (g * nTokens + t) << 5;
      let sum = 0;
      for (let j = 0; j < 32; j++) {
        const v = fround(x[src + j]! * id);
        // roundf: half away from zero (exact in double for |v| <= 127.5).
        const q = v >= 0 ? Math.floor(v + 0.5) : -Math.floor(-v + 0.5);
        xq[dst + j] = q;
        sum += q;
      }
      const dh = f16ToF32(f32ToF16(d));
      xd[g * nTokens + t] = dh;
      xs[g * nTokens + t] = fround(dh * sum);
    }
  }
}
