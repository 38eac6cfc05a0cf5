// Per-kernel speed: GB/s of weights read per second by each WebAssembly SIMD matrix-vector
// kernel (one thread, 4096x4096, weights far larger than the caches are not required: a
// 4096-row matrix is 9-33 MB, beyond L2) next to the plain-TypeScript reference kernel on
// the same matrix, plus the 2-thread worker backend, a 64-token prefill (GMAC/s) and the
// worker dispatch round trip. Prints JSON; `run()` returns the same object.

import { GGMLType, ggmlRowBytes, ggmlTypeInfo, ReferenceBackend, type WeightMatrix } from "@llamats/tensor";
import { quantKernelsF32, quantizeRows } from "@llamats/quant";
import * as quant from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import { WasmBackend } from "@llamats/kernels";
import { createWorkerBackend } from "@llamats/workers";
import { machineInfo, runStandalone } from "./harness.js";
import { effectiveCores } from "./machine-probe.js";

const TYPES = [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K, GGMLType.F16, GGMLType.F32];

function timeBest(fn: () => void, minMs: number, maxReps = 200): number {
  fn();
  let best = Infinity;
  const t0 = performance.now();
  for (let r = 0; r < maxReps && (r < 3 || performance.now() - t0 < minMs); r++) {
    const a = performance.now();
    fn();
    best = Math.min(best, performance.now() - a);
  }
  return best / 1000;
}

function refBackend(): ReferenceBackend {
  const k = (quant as Record<string, unknown>).quantKernels as ConstructorParameters<typeof ReferenceBackend>[0] extends infer O ? O extends { kernels?: infer K } ? K : never : never;
  return new ReferenceBackend({ kernels: k ?? quantKernelsF32 });
}

export async function run(args: string[] = []): Promise<unknown> {
  const quick = args.includes("--quick");
  const rows = quick ? 1024 : 4096;
  const cols = 4096;
  const wasm = new WasmBackend();
  const two = await createWorkerBackend({ threads: 2 });
  const ref = refBackend();
  const f = randomNormal(rows * cols, 1, 0.05);
  const x1 = randomNormal(cols, 2);
  const x64 = randomNormal(64 * cols, 3);
  const kernels: Record<string, unknown>[] = [];
  for (const type of TYPES) {
    const name = ggmlTypeInfo(type)!.name;
    const bytes = type === GGMLType.F32 ? new Uint8Array(f.buffer) : quantizeRows(type, f, rows, cols);
    const placeIn = (b: { allocBytes(n: number): Uint8Array }): WeightMatrix => {
      const dst = b.allocBytes(bytes.length);
      dst.set(bytes);
      return { type, rows, cols, bytes: dst };
    };
    const w1 = placeIn(wasm);
    const w2 = placeIn(two);
    const wr: WeightMatrix = { type, rows, cols, bytes };
    const y = new Float32Array(64 * rows);
    const nBytes = rows * ggmlRowBytes(type, cols);
    const tW = timeBest(() => wasm.matmul(y, w1, x1, 1), 1500);
    const t2 = timeBest(() => two.matmul(y, w2, x1, 1), 1500);
    const tR = timeBest(() => ref.matmul(y, wr, x1, 1), 1500, 5);
    const tPp = timeBest(() => wasm.matmul(y, w1, x64, 64), 1500, 5);
    const row = {
      type: name,
      wasmGBps: +(nBytes / tW / 1e9).toFixed(2),
      workers2GBps: +(nBytes / t2 / 1e9).toFixed(2),
      referenceGBps: +(nBytes / tR / 1e9).toFixed(3),
      speedupVsReference: +(tR / tW).toFixed(1),
      prefill64GMACps: +((64 * rows * cols) / tPp / 1e9).toFixed(2),
    };
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
    kernels.push(row);
  }
  // Dispatch round trip: a 2-row matmul on 2 threads is almost all synchronisation.
  const tiny: WeightMatrix = { type: GGMLType.F32, rows: 2, cols: 32, bytes: two.allocBytes(256) };
  const yt = new Float32Array(2);
  const xt = new Float32Array(32);
  const nDispatch = 2000;
  const tD = timeBest(() => { for (let i = 0; i < nDispatch; i++) two.matmul(yt, tiny, xt, 1); }, 500, 5);
  const singleT = timeBest(() => { for (let i = 0; i < nDispatch; i++) wasm.matmul(yt, tiny, xt, 1); }, 500, 5);
  const dispatch = { spinIterations: two.spin, roundTripUs: +(((tD - singleT) / nDispatch) * 1e6).toFixed(1) };
  two.dispose();
  const cores = await effectiveCores(2, quick ? 30_000_000 : 150_000_000);
  return { machine: machineInfo(), effectiveCores: cores, shape: [rows, cols], kernels, dispatch };
}

runStandalone(import.meta.url, "kernels", run, { wrap: false });
