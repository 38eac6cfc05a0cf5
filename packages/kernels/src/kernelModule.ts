// The kernel module: every generated kernel in one WebAssembly module that imports one shared
// memory ("env", "memory"). Compiled once per process (WebAssembly.Module is structured-
// cloneable, so workers receive it instead of recompiling); instantiated once per memory.
// Memory convention: bytes [0, F16_TABLE_BYTES) of every memory hold the 65,536-entry f16 ->
// f32 table the kernels use to read scales; the arena allocates after it.

import { f16DecodeTable, GGMLType, ggmlTypeInfo } from "@llamats/tensor";
import { emitFloatMatmul } from "./codegen/fmatmul.js";
import { emitQuantMatmul } from "./codegen/qmatmul.js";
import { groupDecoders } from "./codegen/qtypes.js";
import { emitQuantizeQ8_0 } from "./codegen/quantize.js";
import { ModuleBuilder } from "./wasm/module.js";

export const WASM_PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
export const F16_TABLE_BYTES = 65536 * 4;

/** Weight types with a WebAssembly kernel; the activation format each one takes. */
export const QUANT_KERNEL_TYPES: readonly GGMLType[] = groupDecoders.map((d) => d.type);
export const FLOAT_KERNEL_TYPES: readonly GGMLType[] = [GGMLType.F32, GGMLType.F16];

/** The activation quantiser's export: (x, nTokens, cols, xq, dOut, sumOut). */
export const QUANTIZE_Q8_0 = "quant_q8_0";

export function kernelName(type: GGMLType): string {
  const info = ggmlTypeInfo(type);
  if (!info) throw new RangeError(`unknown ggml type ${type}`);
  return (info.quantized ? "qmm_" : "fmm_") + info.name.toLowerCase();
}

/** The module's bytes (deterministic: same TypeScript, same bytes). */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared: true });
  for (const dec of groupDecoders) emitQuantMatmul(m, dec, kernelName(dec.type));
  emitFloatMatmul(m, false, kernelName(GGMLType.F32));
  emitFloatMatmul(m, true, kernelName(GGMLType.F16));
  emitQuantizeQ8_0(m, QUANTIZE_Q8_0);
  return m.encode();
}

let compiled: WebAssembly.Module | undefined;

export function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(kernelModuleBytes());
  return compiled;
}

/** (w, rowBytes, rowStart, rowEnd, nBlocks, xq, xd, xs, nTokens, out, outStride) */
export type QuantKernelFn = (...args: number[]) => void;

export interface KernelExports {
  readonly [name: string]: QuantKernelFn;
}

/** Instantiate the kernels over `memory` (whose f16 table must already be written). */
export function instantiateKernels(memory: WebAssembly.Memory, module: WebAssembly.Module = kernelModule()): KernelExports {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports as unknown as KernelExports;
}

/** Write the f16 decode table at address 0 of a fresh memory. */
export function writeF16Table(memory: WebAssembly.Memory): void {
  new Float32Array(memory.buffer, 0, 65536).set(f16DecodeTable());
}
