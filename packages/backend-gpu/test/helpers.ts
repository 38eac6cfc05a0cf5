// Shared by the GPU tests: which gpu.js modes to run, and the error measure.
import type { GpuMode } from "../src/index.js";

/** "cpu" always; "webgpu" unless LLAMATS_GPU_MODES narrows the list (e.g. "cpu"). */
export function gpuModes(): GpuMode[] {
  const env = process.env.LLAMATS_GPU_MODES;
  return env ? (env.split(",") as GpuMode[]) : ["cpu", "webgpu"];
}

/** max |got - want| over max |want|: an error relative to the result's scale (sums cancel). */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let maxDiff = 0;
  let scale = 1e-30;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return maxDiff / scale;
}
