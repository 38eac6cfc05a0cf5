// Backend selection: the seam between the engine and the compute backends.
// - "ts": the plain-TypeScript ReferenceBackend with @llamats/quant's quantised kernels.
// - "wasm": WebAssembly SIMD kernels on worker_threads from @llamats/workers, loaded by
//   dynamic import so that only a run that asks for it starts threads and compiles WASM.
// - "auto": "wasm" when it loads, otherwise "ts".
// - "gpu": not available yet (a clear LlamatsError).
// To plug another backend in, add its name here and a case to createBackend.

import { LlamatsError, ReferenceBackend, type Backend } from "@llamats/tensor";
import { quantKernels } from "@llamats/quant";

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
      throw new LlamatsError('backend "gpu" is not available in this build (use --backend ts or wasm)');
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
