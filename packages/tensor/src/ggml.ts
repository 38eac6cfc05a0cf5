// The ggml tensor type table: type ids as GGUF stores them, and the block geometry of
// each type. Quantised types are blocks of bytes, not a float dtype: a row of `cols`
// elements of type T occupies (cols / blockSize) * bytesPerBlock bytes.
// Ids and sizes follow ggml.h / ggml.c (llama.cpp c392e50 and later).

export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  BF16: 30,
} as const;
export type GGMLType = (typeof GGMLType)[keyof typeof GGMLType];

export interface GGMLTypeInfo {
  readonly id: GGMLType;
  readonly name: string; // as llama.cpp prints it: "f32", "q4_0", ...
  readonly blockSize: number; // elements per block
  readonly bytesPerBlock: number;
  readonly quantized: boolean;
}

const infos: GGMLTypeInfo[] = [
  { id: GGMLType.F32, name: "f32", blockSize: 1, bytesPerBlock: 4, quantized: false },
  { id: GGMLType.F16, name: "f16", blockSize: 1, bytesPerBlock: 2, quantized: false },
  { id: GGMLType.Q4_0, name: "q4_0", blockSize: 32, bytesPerBlock: 18, quantized: true },
  { id: GGMLType.Q4_1, name: "q4_1", blockSize: 32, bytesPerBlock: 20, quantized: true },
  { id: GGMLType.Q5_0, name: "q5_0", blockSize: 32, bytesPerBlock: 22, quantized: true },
  { id: GGMLType.Q5_1, name: "q5_1", blockSize: 32, bytesPerBlock: 24, quantized: true },
  { id: GGMLType.Q8_0, name: "q8_0", blockSize: 32, bytesPerBlock: 34, quantized: true },
  { id: GGMLType.Q8_1, name: "q8_1", blockSize: 32, bytesPerBlock: 36, quantized: true },
  { id: GGMLType.Q2_K, name: "q2_K", blockSize: 256, bytesPerBlock: 84, quantized: true },
  { id: GGMLType.Q3_K, name: "q3_K", blockSize: 256, bytesPerBlock: 110, quantized: true },
  { id: GGMLType.Q4_K, name: "q4_K", blockSize: 256, bytesPerBlock: 144, quantized: true },
  { id: GGMLType.Q5_K, name: "q5_K", blockSize: 256, bytesPerBlock: 176, quantized: true },
  { id: GGMLType.Q6_K, name: "q6_K", blockSize: 256, bytesPerBlock: 210, quantized: true },
  { id: GGMLType.Q8_K, name: "q8_K", blockSize: 256, bytesPerBlock: 292, quantized: true },
  { id: GGMLType.I8, name: "i8", blockSize: 1, bytesPerBlock: 1, quantized: false },
  { id: GGMLType.I16, name: "i16", blockSize: 1, bytesPerBlock: 2, quantized: false },
  { id: GGMLType.I32, name: "i32", blockSize: 1, bytesPerBlock: 4, quantized: false },
  { id: GGMLType.I64, name: "i64", blockSize: 1, bytesPerBlock: 8, quantized: false },
  { id: GGMLType.F64, name: "f64", blockSize: 1, bytesPerBlock: 8, quantized: false },
  { id: GGMLType.BF16, name: "bf16", blockSize: 1, bytesPerBlock: 2, quantized: false },
];

const byId = new Map<number, GGMLTypeInfo>(infos.map((i) => [i.id, i]));
const byName = new Map<string, GGMLTypeInfo>(infos.map((i) => [i.name.toLowerCase(), i]));

/** Geometry of a ggml type id, or undefined when the id is unknown. */
export function ggmlTypeInfo(id: number): GGMLTypeInfo | undefined {
  return byId.get(id);
}

/** Look a type up by name, case-insensitively ("Q4_0", "q4_k", "F16"). */
export function ggmlTypeByName(name: string): GGMLTypeInfo | undefined {
  return byName.get(name.toLowerCase());
}

/** Bytes of one row of `cols` elements; throws if cols is not a whole number of blocks. */
export function ggmlRowBytes(id: GGMLType, cols: number): number {
  const info = byId.get(id);
  if (!info) throw new RangeError(`unknown ggml type ${id}`);
  if (cols % info.blockSize !== 0) {
    throw new RangeError(`row of ${cols} elements is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  return (cols / info.blockSize) * info.bytesPerBlock;
}
