// @llamats/kernels: WebAssembly SIMD kernels emitted from TypeScript (no C, no wat2wasm):
// the module assembler (wasm/), the kernel generators (codegen/), shared-memory arena,
// Q8_0 activation quantisation, matmul jobs, and the single-threaded WasmBackend.
export { FuncBuilder, ModuleBuilder, type Local, type MemoryImport } from "./wasm/module.js";
export { ValType, Op, Simd } from "./wasm/opcodes.js";
export { SharedArena, type ArenaOptions, type Region } from "./arena.js";
export { quantizeActivationsQ8_0 } from "./activations.js";
export {
  kernelModule, kernelModuleBytes, relaxedSimdAvailable, type KernelModuleOptions, instantiateKernels, writeF16Table, kernelName, QUANTIZE_Q8_0,
  QUANT_KERNEL_TYPES, FLOAT_KERNEL_TYPES, F16_TABLE_BYTES, Q4_0X4_KERNEL, allKernelNames, MAX_PAGES, WASM_PAGE, type KernelExports,
} from "./kernelModule.js";
export { WasmMatmul, hasWasmKernel, ROW_START_ARG, ROW_END_ARG, type MatmulJob, type WasmMatmulOptions } from "./matmul.js";
export { WasmBackend, type WasmBackendOptions } from "./backend.js";
export { fmatmulScalar, qmatmulScalar, q4_0x4MatmulScalar, SCALAR_QMATMUL_TYPES, SCALAR_RELAXED_QMATMUL_TYPES } from "./scalar.js";
export { canRepackQ4_0x4, isRepackedQ4_0x4, markRepackedQ4_0x4, repackQ4_0x4, unpackRowQ4_0x4, Q4_0X4_ROWS, Q4_0X4_RECORD_BYTES } from "./repack.js";
