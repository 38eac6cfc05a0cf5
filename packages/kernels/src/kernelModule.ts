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
import { emitQ4_0x4Matmul, emitRepackQ4_0x4 } from "./codegen/q4_0x4.js";
import { ModuleBuilder } from "./wasm/module.js";

export const WASM_PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
export const F16_TABLE_BYTES = 65536 * 4;

/** Weight types with a WebAssembly kernel; the activation format each one takes. */
export const QUANT_KERNEL_TYPES: readonly GGMLType[] = groupDecoders.map((d) => d.type);
export const FLOAT_KERNEL_TYPES: readonly GGMLType[] = [GGMLType.F32, GGMLType.F16];

/** The Q4_0x4 (repacked, see repack.ts) product; in the relaxed-SIMD module only. */
export const Q4_0X4_KERNEL = "qmm_q4_0x4";
/** The in-place repack to Q4_0x4: (p, nGroups, nBlocks, scratch) -> groups repacked. */
export const REPACK_Q4_0X4 = "repack_q4_0x4";

/** Every kernel a module may export (the worker pool's job table). */
export function allKernelNames(): string[] {
  return [...QUANT_KERNEL_TYPES, ...FLOAT_KERNEL_TYPES].map(kernelName).concat(Q4_0X4_KERNEL);
}

/** The activation quantiser's export: (x, nTokens, cols, xq, dOut, sumOut). */
export const QUANTIZE_Q8_0 = "quant_q8_0";
/** The same into the Q4_0x4 kernel's activation records: (x, nTokens, cols, records, 0, 0). */
export const QUANTIZE_Q8_0_X4 = "quant_q8_0_x4";

export function kernelName(type: GGMLType): string {
  const info = ggmlTypeInfo(type);
  if (!info) throw new RangeError(`unknown ggml type ${type}`);
  return (info.quantized ? "qmm_" : "fmm_") + info.name.toLowerCase();
}

export interface KernelModuleOptions {
  /**
   * Emit the relaxed-SIMD dot products (i16x8.relaxed_dot_i8x16_i7x16_s: one x86 pmaddubsw
   * per 16 weights instead of widening both operands to i16) for the types whose codes
   * are 0..127 (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K). Default: when the engine supports it.
   */
  readonly relaxed?: boolean;
}

/** The module's bytes (deterministic: same TypeScript and options, same bytes). */
export function kernelModuleBytes(opts: KernelModuleOptions = {}): Uint8Array<ArrayBuffer> {
  const relaxed = opts.relaxed ?? relaxedSimdAvailable();
  if (relaxed && !relaxedSimdAvailable()) throw new Error("relaxed SIMD is not available in this JavaScript engine");
  const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: MAX_PAGES, shared: true });
  for (const dec of groupDecoders) emitQuantMatmul(m, dec, kernelName(dec.type), relaxed && dec.relaxedOk);
  if (relaxed) emitQ4_0x4Matmul(m, Q4_0X4_KERNEL, kernelName(GGMLType.Q4_0));
  if (relaxed) emitRepackQ4_0x4(m, REPACK_Q4_0X4);
  emitFloatMatmul(m, false, kernelName(GGMLType.F32));
  emitFloatMatmul(m, true, kernelName(GGMLType.F16));
  emitQuantizeQ8_0(m, QUANTIZE_Q8_0);
  emitQuantizeQ8_0(m, QUANTIZE_Q8_0_X4, "x4");
  return m.encode();
}

let relaxedProbe: boolean | undefined;

/**
 * Whether this engine compiles relaxed-SIMD. Node 20's V8 has it behind
 * --experimental-wasm-relaxed-simd, a flag that only gates validation: we turn it on at
 * runtime (process-wide, before our first compile) unless LLAMATS_WASM_RELAXED=0. Newer Nodes
 * ship it enabled. The results are deterministic because the second operand stays 0..127.
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxedProbe !== undefined) return relaxedProbe;
  // No static node: import: the same module runs in browsers (packages/browser), where there is
  // no process and the engine either has relaxed SIMD or not.
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc?.env?.LLAMATS_WASM_RELAXED === "0") return (relaxedProbe = false);
  // (func (result i32) v128.const 1.. v128.const 2.. i16x8.relaxed_dot_i8x16_i7x16_s i16x8.extract_lane_s 0)
  const body = [0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(1), 0xfd, 0x0c, ...new Array<number>(16).fill(2), 0xfd, 0x92, 0x02, 0xfd, 0x18, 0x00, 0x0b];
  const probe = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 10, body.length + 2, 1, body.length, ...body]);
  if (!WebAssembly.validate(probe)) {
    try {
      const v8 = proc?.getBuiltinModule?.("node:v8") as typeof import("node:v8") | undefined;
      v8?.setFlagsFromString("--experimental-wasm-relaxed-simd");
    } catch {
      // not settable: stay on plain SIMD
    }
  }
  return (relaxedProbe = WebAssembly.validate(probe));
}

const compiled = new Map<boolean, WebAssembly.Module>();

export function kernelModule(opts: KernelModuleOptions = {}): WebAssembly.Module {
  const relaxed = opts.relaxed ?? relaxedSimdAvailable();
  let mod = compiled.get(relaxed);
  if (!mod) {
    mod = new WebAssembly.Module(kernelModuleBytes({ relaxed }));
    compiled.set(relaxed, mod);
  }
  return mod;
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
