// @llamats/quant: ggml block quantisation. Byte-exact reference quantisers (as llama.cpp's
// quantize_row_*_ref), dequantisers for every type llamats reads, integer dot products and
// matmul kernels in the shape the reference backend takes, and llama-quantize's rule for
// which tensor gets which type.
export * from "./layouts.js";
export { quantizeRows, dequantizeRows, dequantizeRow, canQuantize, canDequantize, checkFinite, NonFiniteWeightError } from "./rows.js";
export { codecs, type Codec, type RowQuantizer, type RowDequantizer } from "./codecs.js";
export { quantizeRowQ4_0, dequantizeRowQ4_0, quantizeRowQ4_1, dequantizeRowQ4_1 } from "./legacy4.js";
export { quantizeRowQ5_0, dequantizeRowQ5_0, quantizeRowQ5_1, dequantizeRowQ5_1 } from "./legacy5.js";
export { quantizeRowQ8_0, dequantizeRowQ8_0, quantizeRowQ8_1, dequantizeRowQ8_1 } from "./q8.js";
export { quantizeRowQ4_K, dequantizeRowQ4_K, quantizeRowQ5_K, dequantizeRowQ5_K } from "./q4k.js";
export { quantizeRowQ6_K, dequantizeRowQ6_K } from "./q6k.js";
export { quantizeRowQ8_K, dequantizeRowQ8_K } from "./q8k.js";
export { dequantizeRowQ2_K, dequantizeRowQ3_K, quantizeRowQ2_K, quantizeRowQ3_K } from "./q23k.js";
export { dotQ4_0Q8_0, dotQ4_1Q8_1, dotQ5_0Q8_0, dotQ5_1Q8_1, dotQ8_0Q8_0 } from "./dot-legacy.js";
export { dotQ2_KQ8_K, dotQ3_KQ8_K, dotQ4_KQ8_K, dotQ5_KQ8_K, dotQ6_KQ8_K } from "./dot-k.js";
export { quantKernels, quantKernelsF32, vecDotPlans, type VecDotPlan, type BlockDot } from "./matmul.js";
export {
  formatFallback, llamaQuantizeChoice, llamaQuantizePlan, llamaQuantizeTypeFor, parseQuantizeType, parseTensorType, quantizeFileTypes,
  type QuantizeChoice, type QuantizeFallback, type QuantizeFileType, type QuantMixture, type QuantizeTypeOptions,
} from "./select.js";
export { createQuantizePool, type QuantizePool } from "./pool.js";
