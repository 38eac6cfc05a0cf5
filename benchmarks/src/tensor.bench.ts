// Reference-backend op throughput: f32 matvec at LLaMA-7B shapes (4096x4096 attention,
// 11008x4096 FFN), and RMSNorm. These are the plain-TypeScript baselines the
// WebAssembly kernels (kernels.bench.ts) are compared against.

import { GGMLType, ReferenceBackend, type WeightMatrix } from "@llamats/tensor";
import { randomNormal } from "@llamats/testkit";
import { measure, runStandalone } from "./harness.js";

function f32Matrix(rows: number, cols: number, seed: number): WeightMatrix {
  const w = randomNormal(rows * cols, seed, 0.02);
  return { type: GGMLType.F32, rows, cols, bytes: new Uint8Array(w.buffer) };
}

export async function run(): Promise<unknown> {
  const be = new ReferenceBackend();
  const out: unknown[] = [];
  for (const [rows, cols] of [[4096, 4096], [11008, 4096]] as const) {
    const w = f32Matrix(rows, cols, 1);
    const x = randomNormal(cols, 2);
    const y = new Float32Array(rows);
    out.push(measure(`matvec_f32_${rows}x${cols}`, () => be.matmul(y, w, x, 1), { flops: 2 * rows * cols, bytes: rows * cols * 4 }));
  }
  const dim = 4096;
  const x = randomNormal(dim, 3);
  const g = randomNormal(dim, 4);
  const y = new Float32Array(dim);
  out.push(measure(`rmsnorm_${dim}`, () => be.rmsNorm(y, x, g, dim, 1e-6), { bytes: dim * 8 }));
  be.dispose();
  return out;
}

runStandalone(import.meta.url, "tensor", run);
