// @llamats/backend-gpu: the optional GPU backend on gpu.js. Loaded only by dynamic import
// (`await import("@llamats/backend-gpu")`), so nothing else needs gpu.js or Dawn installed.
//   GpuRuntime.create({mode})  picks WebGPU (Dawn), else headless-gl, else GpuUnavailableError
//   GpuOps                     the Backend ops, op by op, async (host arrays in and out)
//   GpuModel                   a whole forward step on the device; reads back only logits
export { GpuRuntime, GpuUnavailableError, type GpuInfo, type GpuMode, type GpuRuntimeOptions, type DeviceArray } from "./runtime.js";
export { GpuOps } from "./host-ops.js";
export { GpuModel, type GpuModelOptions, type GpuForwardOptions } from "./model.js";
export { packRows, packedKindFor, packedRowFloats, rowChunks, type PackedKind } from "./pack.js";
