// Backend selection: the seam between the engine and the compute backends.
// - "ts": the plain-TypeScript ReferenceBackend with @llamats/quant's quantised kernels.
// - "wasm": WebAssembly SIMD kernels on worker_threads from @llamats/workers, loaded by
//   dynamic import so that only a run that asks for it starts threads and compiles WASM.
// - "auto": "wasm" when it loads, otherwise "ts".
// - "gpu": the gpu.js backend (@llamats/backend-gpu, dynamic import only). It is not a
//   synchronous Backend (WebGPU has no synchronous readback): loadModel keeps the weights on
//   the reference backend for the host side and hands the forward steps to a GpuModel
//   (createGpuDevice below); createBackend("gpu") itself refuses.
// To plug another backend in, add its name here and a case to createBackend.

import { LlamatsError, ReferenceBackend, type Backend } from "@llamats/tensor";
import { quantKernels } from "@llamats/quant";
import type { BatchItem, BatchResult, KVCache, LlamaWeights } from "@llamats/model";

export type BackendName = "ts" | "wasm" | "gpu" | "auto";
export const BACKEND_NAMES: readonly BackendName[] = ["ts", "wasm", "gpu", "auto"];

export interface BackendOptions {
  /** Worker threads for "wasm"/"auto" (default: the number of cores). */
  readonly threads?: number;
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

/** The reference backend with every quantised kernel the quant package exports. */
export function createReferenceBackend(): ReferenceBackend {
  return new ReferenceBackend({ kernels: quantKernels });
}

export async function createBackend(name: BackendName | string = "auto", opts: BackendOptions = {}): Promise<Backend> {
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new LlamatsError(`--threads ${opts.threads}: want a positive integer`);
  }
  switch (name) {
    case "ts":
      return createReferenceBackend();
    case "wasm": {
      const b = await loadWorkersBackend(opts);
      if (!b.backend) throw new LlamatsError(`backend "wasm" is not available: ${b.reason}`);
      return b.backend;
    }
    case "auto": {
      // Whatever goes wrong with the fast backend (missing package, no SIMD, no threads),
      // "auto" still runs: on the reference backend.
      const b = await loadWorkersBackend(opts).catch(() => ({ backend: undefined }));
      return b.backend ?? createReferenceBackend();
    }
    case "gpu":
      throw new LlamatsError('backend "gpu" runs whole forward steps on the device: load the model with loadModel(path, { backend: "gpu" })');
    default:
      throw new LlamatsError(`unknown backend "${name}" (want ${BACKEND_NAMES.join(", ")})`);
  }
}

/** The WebAssembly/worker_threads backend (loaded on demand: its workers and WASM module start only when asked for). */
async function loadWorkersBackend(opts: BackendOptions): Promise<{ backend?: Backend; reason: string }> {
  let workers: typeof import("@llamats/workers");
  try {
    workers = await import("@llamats/workers");
  } catch (err) {
    return { reason: `@llamats/workers failed to load (${(err as Error).message})` };
  }
  return { backend: await workers.createWorkerBackend({ threads: opts.threads }), reason: "" };
}

/** The engine's view of @llamats/backend-gpu (typed here: the package is never imported statically). */
interface GpuPackage {
  GpuRuntime: { create(o: { mode?: string }): Promise<GpuRuntimeLike> };
  GpuModel: { create(rt: GpuRuntimeLike, w: LlamaWeights, o: { nCtx?: number; maxBatch?: number }): Promise<GpuModelLike> };
}
interface GpuRuntimeLike {
  readonly info: { readonly mode: string; readonly adapter: string };
  destroy(): Promise<void>;
}
interface GpuModelLike {
  forwardBatch(items: readonly BatchItem[]): Promise<BatchResult[]>;
  releaseCache(cache: KVCache): void;
  dispose(): void;
}

/** Load the gpu.js backend package, or say in one line why it cannot be used here. */
export async function importGpuBackend(): Promise<GpuPackage> {
  const name = "@llamats/backend-gpu"; // a variable: no static edge to the optional package
  try {
    return (await import(name)) as GpuPackage;
  } catch (err) {
    throw new LlamatsError(`backend "gpu": ${name} could not be loaded (${(err as Error).message.split("\n")[0]})`);
  }
}

/** Upload the weights to the GPU and return the device that runs the model's forward steps. */
export async function createGpuDevice(weights: LlamaWeights, opts: { nCtx: number; maxBatch?: number; mode?: string }) {
  const gpu = await importGpuBackend();
  let rt: GpuRuntimeLike;
  try {
    rt = await gpu.GpuRuntime.create({ mode: opts.mode ?? process.env.LLAMATS_GPU_MODE ?? "auto" });
  } catch (err) {
    throw new LlamatsError(`backend "gpu": ${(err as Error).message}`);
  }
  try {
    const model = await gpu.GpuModel.create(rt, weights, { nCtx: opts.nCtx, maxBatch: opts.maxBatch });
    return {
      info: rt.info,
      evaluate: (items: readonly BatchItem[]) => model.forwardBatch(items),
      releaseCache: (cache: KVCache) => model.releaseCache(cache),
      dispose: async () => {
        model.dispose();
        await rt.destroy();
      },
    };
  } catch (err) {
    await rt.destroy();
    throw err;
  }
}
