// GGUF (llama.cpp's model file), little-endian, versions 2 and 3:
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x { string key, u32 value_type, value },
//   n_tensors x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset },
//   padding to general.alignment (default 32), then tensor data (offsets relative to it).
// Strings are u64 length + UTF-8 bytes (no NUL). Arrays are u32 item type, u64 count, items.
// ne[0] is the row length (innermost dimension).

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGML_MAX_DIMS = 4;

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Bytes of one scalar of each fixed-size type (strings / arrays: their minimum size). */
export const GGUF_MIN_SIZE: Record<GgufValueType, number> = {
  0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8,
};

/** An array value: its item type and items (nested arrays are GgufArray too). */
export interface GgufArray {
  readonly itemType: GgufValueType;
  readonly items: readonly GgufScalar[] | readonly GgufArray[];
}
/** 64-bit integers come back as bigint only when they exceed 2^53. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufArray;

/** One metadata entry with its exact GGUF type, so a file round-trips byte for byte. */
export interface GgufKV {
  readonly key: string;
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: ne[0] is the row length. */
  readonly ne: readonly number[];
  /** Row-major, outer first (ne reversed): a matrix is (rows, cols). */
  readonly shape: readonly number[];
  readonly type: number;
  /** Offset relative to the start of the data section. */
  readonly offset: number;
  readonly byteLength: number;
}

/** Plain JS value of a GGUF value (arrays become JS arrays). */
export function ggufPlain(v: GgufValue): unknown {
  if (typeof v === "object" && v !== null && "itemType" in v) return (v.items as GgufValue[]).map(ggufPlain);
  return v;
}
