// Block layouts of the ggml quantisation types, byte offsets inside one block, as ggml's
// `block_*` structs lay them out (ggml-common.h); each size is asserted against the ggml
// type table of @llamats/tensor when this module loads, as ggml's static_asserts do.
//
// Legacy types hold 32 weights per block; K types hold 256 (QK_K) in a super-block split
// into 16- or 32-weight sub-blocks with 6- or 8-bit sub-scales.

import { GGMLType, ggmlTypeInfo } from "@llamats/tensor";

export const QK = 32; // weights per legacy block (QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK8_1)
export const QK_K = 256; // weights per K super-block
export const K_SCALE_SIZE = 12; // packed 6-bit scales + mins of Q4_K / Q5_K

/** Byte offsets of each field in one block, and the block size. */
export const Q4_0 = { d: 0, qs: 2, bytes: 2 + QK / 2 } as const; // {f16 d; u8 qs[16]}
export const Q4_1 = { d: 0, m: 2, qs: 4, bytes: 4 + QK / 2 } as const; // {f16 d; f16 m; u8 qs[16]}
export const Q5_0 = { d: 0, qh: 2, qs: 6, bytes: 6 + QK / 2 } as const; // {f16 d; u8 qh[4]; u8 qs[16]}
export const Q5_1 = { d: 0, m: 2, qh: 4, qs: 8, bytes: 8 + QK / 2 } as const; // {f16 d, m; u8 qh[4]; u8 qs[16]}
export const Q8_0 = { d: 0, qs: 2, bytes: 2 + QK } as const; // {f16 d; i8 qs[32]}
export const Q8_1 = { d: 0, s: 2, qs: 4, bytes: 4 + QK } as const; // {f16 d; f16 s = d*sum(qs); i8 qs[32]}
// {u8 scales[16] (lo nibble scale, hi nibble min); u8 qs[64] (2-bit); f16 d; f16 dmin}
export const Q2_K = { scales: 0, qs: 16, d: 80, dmin: 82, bytes: 84 } as const;
// {u8 hmask[32]; u8 qs[64] (low 2 bits); u8 scales[12] (6-bit, packed); f16 d}
export const Q3_K = { hmask: 0, qs: 32, scales: 96, d: 108, bytes: 110 } as const;
// {f16 d; f16 dmin; u8 scales[12] (6-bit scales and mins, packed); u8 qs[128] (nibbles)}
export const Q4_K = { d: 0, dmin: 2, scales: 4, qs: 16, bytes: 144 } as const;
// {f16 d; f16 dmin; u8 scales[12]; u8 qh[32] (5th bits); u8 qs[128] (low nibbles)}
export const Q5_K = { d: 0, dmin: 2, scales: 4, qh: 16, qs: 48, bytes: 176 } as const;
// {u8 ql[128] (low 4 bits); u8 qh[64] (high 2 bits); i8 scales[16]; f16 d}
export const Q6_K = { ql: 0, qh: 128, scales: 192, d: 208, bytes: 210 } as const;
// {f32 d; i8 qs[256]; i16 bsums[16] (sums of 16 quants)} — activations only
export const Q8_K = { d: 0, qs: 4, bsums: 260, bytes: 292 } as const;

const declared: [GGMLType, { bytes: number }, number][] = [
  [GGMLType.Q4_0, Q4_0, QK], [GGMLType.Q4_1, Q4_1, QK], [GGMLType.Q5_0, Q5_0, QK],
  [GGMLType.Q5_1, Q5_1, QK], [GGMLType.Q8_0, Q8_0, QK], [GGMLType.Q8_1, Q8_1, QK],
  [GGMLType.Q2_K, Q2_K, QK_K], [GGMLType.Q3_K, Q3_K, QK_K], [GGMLType.Q4_K, Q4_K, QK_K],
  [GGMLType.Q5_K, Q5_K, QK_K], [GGMLType.Q6_K, Q6_K, QK_K], [GGMLType.Q8_K, Q8_K, QK_K],
];
for (const [type, layout, blockSize] of declared) {
  const info = ggmlTypeInfo(type);
  if (!info || info.bytesPerBlock !== layout.bytes || info.blockSize !== blockSize) {
    throw new Error(`@llamats/quant: block layout of ggml type ${type} disagrees with the ggml type table`);
  }
}
