// Opcode numbers of the WebAssembly core instructions and the 128-bit SIMD proposal
// (prefix 0xFD, sub-opcodes LEB128-encoded) that our kernels use. Values from the
// WebAssembly 2.0 spec, §5.4 (instructions) and the fixed-width SIMD opcode table.

export const ValType = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Core opcodes (single byte). */
export const Op = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, return: 0x0f, call: 0x10, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, f32_load: 0x2a, i32_load8_s: 0x2c, i32_load8_u: 0x2d,
  i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i32_store: 0x36, f32_store: 0x38, i32_store8: 0x3a, i32_store16: 0x3b,
  i32_const: 0x41, f32_const: 0x43,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a,
  i32_gt_u: 0x4b, i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  f32_eq: 0x5b, f32_ne: 0x5c, f32_lt: 0x5d, f32_gt: 0x5e, f32_le: 0x5f, f32_ge: 0x60,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e,
  i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74,
  i32_shr_s: 0x75, i32_shr_u: 0x76, i32_ctz: 0x68,
  f32_abs: 0x8b, f32_neg: 0x8c, f32_sqrt: 0x91, f32_add: 0x92, f32_sub: 0x93, f32_mul: 0x94,
  f32_div: 0x95, f32_min: 0x96, f32_max: 0x97,
  i32_trunc_f32_s: 0xa8, f32_convert_i32_s: 0xb2, f64_promote_f32: 0xbb, i32_reinterpret_f32: 0xbc, f32_reinterpret_i32: 0xbe,
} as const;

/** SIMD sub-opcodes (emitted after the 0xFD prefix). */
export const Simd = {
  v128_load: 0x00, i16x8_load8x8_s: 0x01, i16x8_load8x8_u: 0x02, i32x4_load16x4_s: 0x03,
  i32x4_load16x4_u: 0x04, v128_load32_splat: 0x09, v128_load64_splat: 0x0a,
  v128_store: 0x0b, v128_const: 0x0c, i8x16_shuffle: 0x0d, i8x16_swizzle: 0x0e,
  i8x16_splat: 0x0f, i16x8_splat: 0x10, i32x4_splat: 0x11, f32x4_splat: 0x13,
  i32x4_extract_lane: 0x1b, i32x4_replace_lane: 0x1c, f32x4_extract_lane: 0x1f, f32x4_replace_lane: 0x20,
  i8x16_eq: 0x23, i32x4_eq: 0x37, i32x4_gt_s: 0x3b, i32x4_gt_u: 0x3c, i32x4_ge_u: 0x40,
  v128_not: 0x4d, v128_and: 0x4e, v128_andnot: 0x4f, v128_or: 0x50, v128_xor: 0x51,
  v128_bitselect: 0x52,
  i8x16_narrow_i16x8_s: 0x65, f32x4_ceil: 0x67, f32x4_floor: 0x68, f32x4_trunc: 0x69, f32x4_nearest: 0x6a,
  f32x4_eq: 0x41, f32x4_lt: 0x43, f32x4_gt: 0x44, f32x4_le: 0x45, f32x4_ge: 0x46,
  i8x16_shl: 0x6b, i8x16_shr_s: 0x6c, i8x16_shr_u: 0x6d, i8x16_add: 0x6e, i8x16_sub: 0x71,
  i16x8_narrow_i32x4_s: 0x85, i16x8_extend_low_i8x16_s: 0x87, i16x8_extend_high_i8x16_s: 0x88,
  i16x8_extend_low_i8x16_u: 0x89, i16x8_extend_high_i8x16_u: 0x8a,
  i16x8_shl: 0x8b, i16x8_shr_s: 0x8c, i16x8_shr_u: 0x8d, i16x8_add: 0x8e, i16x8_sub: 0x91, i16x8_mul: 0x95,
  i32x4_extend_low_i16x8_s: 0xa7, i32x4_extend_high_i16x8_s: 0xa8,
  i32x4_extend_low_i16x8_u: 0xa9, i32x4_extend_high_i16x8_u: 0xaa,
  i32x4_shl: 0xab, i32x4_shr_s: 0xac, i32x4_shr_u: 0xad, i32x4_add: 0xae, i32x4_sub: 0xb1,
  i32x4_mul: 0xb5, i32x4_dot_i16x8_s: 0xba,
  f32x4_abs: 0xe0, f32x4_neg: 0xe1, f32x4_sqrt: 0xe3, f32x4_add: 0xe4, f32x4_sub: 0xe5,
  f32x4_mul: 0xe6, f32x4_div: 0xe7, f32x4_min: 0xe8, f32x4_max: 0xe9,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  // f64x2 (the LoRA delta kernel: float32 products summed exactly as Math.fround(acc + b * a))
  i32x4_bitmask: 0xa4, v128_store64_lane: 0x5b,
  f64x2_splat: 0x14, f32x4_demote_f64x2_zero: 0x5e, f64x2_promote_low_f32x4: 0x5f, f64x2_add: 0xf0, f64x2_mul: 0xf2,
  // relaxed-simd (Node 20: behind --experimental-wasm-relaxed-simd, see kernelModule.ts)
  // (the _add_s form, 0x113, miscomputes in Node 20's V8 11.3: it doubles the products and
  // drops the accumulator, measured; we use the i16 form + extadd_pairwise instead)
  i16x8_relaxed_dot_i8x16_i7x16_s: 0x112,
  i32x4_extadd_pairwise_i16x8_s: 0x7e, f32x4_convert_i32x4_s: 0xfa, f32x4_convert_i32x4_u: 0xfb,
} as const;
export type SimdOp = keyof typeof Simd;
