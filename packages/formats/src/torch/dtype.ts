// torch's typed-storage classes (the `torch.HalfStorage` globals that name a storage's
// element type in a checkpoint's persistent ids) and the element sizes of their dtypes.

import type { TorchDType } from "./types.js";

const storageToDType: ReadonlyMap<string, TorchDType> = new Map([
  ["DoubleStorage", "f64"],
  ["FloatStorage", "f32"],
  ["HalfStorage", "f16"],
  ["BFloat16Storage", "bf16"],
  ["LongStorage", "i64"],
  ["IntStorage", "i32"],
  ["ShortStorage", "i16"],
  ["CharStorage", "i8"],
  ["ByteStorage", "u8"],
  ["BoolStorage", "bool"],
]);

const dtypeToStorage: ReadonlyMap<TorchDType, string> = new Map(
  [...storageToDType].map(([cls, dt]) => [dt, cls] as const),
);

const elementBytes: Readonly<Record<TorchDType, number>> = {
  f64: 8, f32: 4, f16: 2, bf16: 2, i64: 8, i32: 4, i16: 2, i8: 1, u8: 1, bool: 1,
};

/** "HalfStorage" -> "f16"; undefined for any other name. */
export function dtypeOfStorageClass(className: string): TorchDType | undefined {
  return storageToDType.get(className);
}

/** "f16" -> "HalfStorage". */
export function storageClassOfDType(dtype: TorchDType): string {
  const cls = dtypeToStorage.get(dtype);
  if (!cls) throw new RangeError(`unknown torch dtype ${String(dtype)}`);
  return cls;
}

export function torchElementBytes(dtype: TorchDType): number {
  const n = elementBytes[dtype];
  if (n === undefined) throw new RangeError(`unknown torch dtype ${String(dtype)}`);
  return n;
}

/** The torch name of a dtype as tensor-sha256.json files write it ("float16"). */
export function torchDTypeName(dtype: TorchDType): string {
  const names: Record<TorchDType, string> = {
    f64: "float64", f32: "float32", f16: "float16", bf16: "bfloat16", i64: "int64",
    i32: "int32", i16: "int16", i8: "int8", u8: "uint8", bool: "bool",
  };
  return names[dtype];
}
