// Matmul kernels over quantised weights in the shape the reference backend takes
// (@llamats/tensor MatmulKernel / RowDecoder): out (nTokens, w.rows) = x (nTokens, w.cols) · wᵀ.
//
// quantKernels: as ggml's CPU backend does it — each activation row is quantised once to
// the weight type's "vec_dot type" (Q8_0, Q8_1 or Q8_K) and every weight row is multiplied
// with integer dot products. quantKernelsF32: each weight row is decoded to float32 once
// and multiplied with the float32 activations (more exact, slower).

import { GGMLType, ggmlRowBytes, type MatmulKernel, type RowDecoder, type WeightMatrix } from "@llamats/tensor";
import { codecs, type RowQuantizer } from "./codecs.js";
import { dotQ4_0Q8_0, dotQ4_1Q8_1, dotQ5_0Q8_0, dotQ5_1Q8_1, dotQ8_0Q8_0 } from "./dot-legacy.js";
import { dotQ2_KQ8_K, dotQ3_KQ8_K, dotQ4_KQ8_K, dotQ5_KQ8_K, dotQ6_KQ8_K } from "./dot-k.js";
import { quantizeRowQ8_0, quantizeRowQ8_1 } from "./q8.js";
import { quantizeRowQ8_K } from "./q8k.js";

/** w[wOff..] · a[aOff..] over nBlocks blocks (byte offsets). */
export type BlockDot = (w: Uint8Array, wOff: number, a: Uint8Array, aOff: number, nBlocks: number) => number;

export interface VecDotPlan {
  /** The activation type (ggml's vec_dot_type). */
  readonly activationType: GGMLType;
  readonly quantizeActivations: RowQuantizer;
  readonly dot: BlockDot;
  /** Weights per block (32 or 256). */
  readonly blockSize: number;
}

export const vecDotPlans: Partial<Record<GGMLType, VecDotPlan>> = {
  [GGMLType.Q4_0]: { activationType: GGMLType.Q8_0, quantizeActivations: quantizeRowQ8_0, dot: dotQ4_0Q8_0, blockSize: 32 },
  [GGMLType.Q4_1]: { activationType: GGMLType.Q8_1, quantizeActivations: quantizeRowQ8_1, dot: dotQ4_1Q8_1, blockSize: 32 },
  [GGMLType.Q5_0]: { activationType: GGMLType.Q8_0, quantizeActivations: quantizeRowQ8_0, dot: dotQ5_0Q8_0, blockSize: 32 },
  [GGMLType.Q5_1]: { activationType: GGMLType.Q8_1, quantizeActivations: quantizeRowQ8_1, dot: dotQ5_1Q8_1, blockSize: 32 },
  [GGMLType.Q8_0]: { activationType: GGMLType.Q8_0, quantizeActivations: quantizeRowQ8_0, dot: dotQ8_0Q8_0, blockSize: 32 },
  [GGMLType.Q2_K]: { activationType: GGMLType.Q8_K, quantizeActivations: quantizeRowQ8_K, dot: dotQ2_KQ8_K, blockSize: 256 },
  [GGMLType.Q3_K]: { activationType: GGMLType.Q8_K, quantizeActivations: quantizeRowQ8_K, dot: dotQ3_KQ8_K, blockSize: 256 },
  [GGMLType.Q4_K]: { activationType: GGMLType.Q8_K, quantizeActivations: quantizeRowQ8_K, dot: dotQ4_KQ8_K, blockSize: 256 },
  [GGMLType.Q5_K]: { activationType: GGMLType.Q8_K, quantizeActivations: quantizeRowQ8_K, dot: dotQ5_KQ8_K, blockSize: 256 },
  [GGMLType.Q6_K]: { activationType: GGMLType.Q8_K, quantizeActivations: quantizeRowQ8_K, dot: dotQ6_KQ8_K, blockSize: 256 },
};

function checkShapes(out: Float32Array, w: WeightMatrix, x: Float32Array, nTokens: number): number {
  const rowBytes = ggmlRowBytes(w.type, w.cols);
  if (w.bytes.length < w.rows * rowBytes) throw new RangeError(`weight holds ${w.bytes.length} bytes, (${w.rows}, ${w.cols}) needs ${w.rows * rowBytes}`);
  if (x.length < nTokens * w.cols) throw new RangeError(`x holds ${x.length} values, needs ${nTokens * w.cols}`);
  if (out.length < nTokens * w.rows) throw new RangeError(`out holds ${out.length} values, needs ${nTokens * w.rows}`);
  return rowBytes;
}

function q8Matmul(plan: VecDotPlan): MatmulKernel {
  let scratch = new Uint8Array(0);
  return (out, w, x, nTokens) => {
    const rowBytes = checkShapes(out, w, x, nTokens);
    const actRowBytes = ggmlRowBytes(plan.activationType, w.cols);
    if (scratch.length < nTokens * actRowBytes) scratch = new Uint8Array(nTokens * actRowBytes);
    const act = scratch; // (nTokens, actRowBytes)
    for (let t = 0; t < nTokens; t++) plan.quantizeActivations(x, t * w.cols, w.cols, act, t * actRowBytes);
    const nBlocks = w.cols / plan.blockSize;
    const dot = plan.dot;
    for (let r = 0; r < w.rows; r++) {
      const wo = r * rowBytes;
      for (let t = 0; t < nTokens; t++) out[t * w.rows + r] = dot(w.bytes, wo, act, t * actRowBytes, nBlocks);
    }
  };
}

function decoder(type: GGMLType): RowDecoder {
  const dequantize = codecs[type]!.dequantize;
  return (w, row, out, outOffset) => {
    const rowBytes = ggmlRowBytes(type, w.cols);
    if (row < 0 || row >= w.rows) throw new RangeError(`row ${row} outside 0..${w.rows - 1}`);
    if (w.bytes.length < (row + 1) * rowBytes) throw new RangeError(`weight holds ${w.bytes.length} bytes, row ${row} ends at ${(row + 1) * rowBytes}`);
    if (outOffset < 0 || outOffset + w.cols > out.length) throw new RangeError(`row of ${w.cols} at ${outOffset} runs past ${out.length} values`);
    dequantize(w.bytes, row * rowBytes, w.cols, out, outOffset);
  };
}

function f32Matmul(type: GGMLType): MatmulKernel {
  const dequantize = codecs[type]!.dequantize;
  let rowF32 = new Float32Array(0);
  return (out, w, x, nTokens) => {
    const rowBytes = checkShapes(out, w, x, nTokens);
    const cols = w.cols;
    if (rowF32.length < cols) rowF32 = new Float32Array(cols);
    const row = rowF32; // (cols) one decoded weight row, reused for every token
    for (let r = 0; r < w.rows; r++) {
      dequantize(w.bytes, r * rowBytes, cols, row, 0);
      for (let t = 0; t < nTokens; t++) {
        const xo = t * cols;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let j = 0;
        for (; j + 4 <= cols; j += 4) {
          s0 += row[j] * x[xo + j];
          s1 += row[j + 1] * x[xo + j + 1];
          s2 += row[j + 2] * x[xo + j + 2];
          s3 += row[j + 3] * x[xo + j + 3];
        }
        for (; j < cols; j++) s0 += row[j] * x[xo + j];
        out[t * w.rows + r] = s0 + s1 + (s2 + s3);
      }
    }
  };
}

type Kernels = Partial<Record<GGMLType, { matmul: MatmulKernel; decodeRow: RowDecoder }>>;

function build(withQ8: boolean): Kernels {
  const kernels: Kernels = {};
  for (const key of Object.keys(codecs)) {
    const type = Number(key) as GGMLType;
    if (type === GGMLType.Q8_1 || type === GGMLType.Q8_K) continue; // activation-only types
    const plan = vecDotPlans[type];
    kernels[type] = { matmul: withQ8 && plan ? q8Matmul(plan) : f32Matmul(type), decodeRow: decoder(type) };
  }
  return kernels;
}

/** ggml-style kernels: activations quantised to Q8_0 / Q8_1 / Q8_K, integer dot products.
 *  F32 / F16 / BF16 weights use the float32 path. */
export const quantKernels: Kernels = build(true);

/** Float32-activation kernels: each weight row decoded to float32, then a float dot. */
export const quantKernelsF32: Kernels = build(false);
