// One view over the tensor files a merge reads: torch.save zips (`.bin`, `.pth`, through
// formats' openTorchCheckpoint) and safetensors (openSafetensors). Tensors keep the names
// of their file and are read lazily, one at a time, so a merge holds only what it works on.

import { bf16ToF32, f16DecodeTable, LlamatsError } from "@llamats/tensor";
import { openSafetensors, openTorchCheckpoint, type SafetensorsDtype, type TorchDType } from "@llamats/formats";

/** Element types the merger handles (torch's names). */
export type ElemType = TorchDType;

export interface TensorRef {
  readonly name: string;
  readonly dtype: ElemType;
  /** Outer dimension first: a Linear weight is (out, in). */
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** The file holding it. */
  readonly file: string;
  /** Raw little-endian bytes, contiguous row-major. */
  read(): Uint8Array;
}

export interface TensorFile {
  readonly path: string;
  readonly tensors: readonly TensorRef[];
  close(): void;
}

const ST_TO_TORCH: Partial<Record<SafetensorsDtype, ElemType>> = {
  F64: "f64", F32: "f32", F16: "f16", BF16: "bf16", I64: "i64", I32: "i32", I16: "i16", I8: "i8", U8: "u8", BOOL: "bool",
};
const TORCH_TO_ST: Record<ElemType, SafetensorsDtype> = {
  f64: "F64", f32: "F32", f16: "F16", bf16: "BF16", i64: "I64", i32: "I32", i16: "I16", i8: "I8", u8: "U8", bool: "BOOL",
};

export function safetensorsDtypeOf(dtype: ElemType): SafetensorsDtype {
  return TORCH_TO_ST[dtype];
}

export function elemBytes(dtype: ElemType): number {
  return { f64: 8, f32: 4, f16: 2, bf16: 2, i64: 8, i32: 4, i16: 2, i8: 1, u8: 1, bool: 1 }[dtype];
}

/** Open a `.safetensors`, or a torch zip (`.bin`, `.pth`, anything else). */
export function openTensorFile(path: string): TensorFile {
  if (path.endsWith(".safetensors")) {
    const st = openSafetensors(path);
    const tensors: TensorRef[] = st.tensors.map((t) => {
      const dtype = ST_TO_TORCH[t.dtype];
      if (!dtype) throw new LlamatsError(`${path}: tensor "${t.name}" has dtype ${t.dtype}, which a LoRA merge cannot use`);
      return { name: t.name, dtype, shape: t.shape, byteLength: t.end - t.begin, file: path, read: () => st.readTensor(t) };
    });
    return { path, tensors, close: () => st.close() };
  }
  const ck = openTorchCheckpoint(path);
  const tensors: TensorRef[] = ck.tensors.map((t) => ({
    name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, file: t.file, read: () => ck.read(t.name),
  }));
  return { path, tensors, close: () => ck.close() };
}

/** A float tensor's bytes as float32 values (f16 / bf16 / f32 / f64). */
export function toF32(bytes: Uint8Array, dtype: ElemType, name: string): Float32Array {
  const n = bytes.length / elemBytes(dtype);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "f16") {
    const table = f16DecodeTable();
    for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  } else if (dtype === "bf16") {
    for (let i = 0; i < n; i++) out[i] = bf16ToF32(dv.getUint16(2 * i, true));
  } else if (dtype === "f32") {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
  } else if (dtype === "f64") {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  } else {
    throw new LlamatsError(`tensor "${name}" has dtype ${dtype}; a LoRA merge needs floating-point weights`);
  }
  return out;
}

/** f16 bits (host order) as little-endian bytes. */
export function f16ToBytes(bits: Uint16Array): Uint8Array {
  const out = new Uint8Array(bits.length * 2);
  for (let i = 0; i < bits.length; i++) {
    out[2 * i] = bits[i] & 0xff;
    out[2 * i + 1] = bits[i] >>> 8;
  }
  return out;
}

/** Little-endian f16 bytes as host-order bits. */
export function bytesToF16(bytes: Uint8Array): Uint16Array {
  const n = bytes.length >> 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return out;
}

/** The first element index that is NaN or +-Inf, or -1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}
