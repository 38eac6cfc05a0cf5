// The Backend interface's ops on the GPU, one call at a time, with host arrays in and out:
// what the op-by-op tests hold against the ReferenceBackend, and a way for researchers to
// run one op on the device. Each call uploads its inputs, runs the kernels and reads the
// result back, so it is slow by design; GpuModel keeps everything resident instead.
// The methods are async because WebGPU has no synchronous readback: this is why the GPU
// backend is not a (synchronous) `Backend` but mirrors it op for op.

import { LlamatsError, type AttentionParams, type RopeParams, type WeightMatrix } from "@llamats/tensor";
import * as ops from "./ops.js";
import type { DeviceArray, GpuRuntime } from "./runtime.js";

export class GpuOps {
  readonly name = "gpu";
  constructor(readonly rt: GpuRuntime) {}

  /** out (nTokens, w.rows) = x (nTokens, w.cols) · Wᵀ. */
  async matmul(w: WeightMatrix, x: Float32Array, nTokens: number): Promise<Float32Array> {
    const m = await ops.uploadMatrix(this.rt, w);
    try {
      return await this.run([x], ([dx]) => ops.matmul(this.rt, m, dx, nTokens), nTokens * w.rows);
    } finally {
      ops.freeMatrix(this.rt, m);
    }
  }

  async rmsNorm(x: Float32Array, weight: Float32Array, dim: number, eps: number): Promise<Float32Array> {
    const nRows = Math.floor(x.length / dim);
    return this.run([x, weight], ([dx, dw]) => ops.rmsNorm(this.rt, dx, dw, nRows, dim, eps), nRows * dim);
  }

  /** Returns the rotated copy of x (nTokens, nHeads, headDim). */
  async rope(x: Float32Array, nHeads: number, positions: ArrayLike<number>, params: RopeParams): Promise<Float32Array> {
    const tables = await ops.uploadRopeTables(this.rt, positions, params);
    try {
      return await this.run([x], ([dx]) => ops.rope(this.rt, dx, nHeads, tables, params), x.length);
    } finally {
      ops.freeRopeTables(this.rt, tables);
    }
  }

  /** Causal attention; kCache/vCache (nCtx, nKvHeads, headDim) hold rows 0 .. pos0 + nTokens - 1. */
  async attention(q: Float32Array, kCache: Float32Array, vCache: Float32Array, p: AttentionParams): Promise<Float32Array> {
    const kvDim = p.nKvHeads * p.headDim;
    const nCtx = Math.floor(kCache.length / kvDim);
    if (nCtx < p.pos0 + p.nTokens) throw new LlamatsError(`attention: the cache holds ${nCtx} rows, ${p.pos0 + p.nTokens} needed`);
    return this.run([q, kCache, vCache], ([dq, dk, dv]) => ops.attention(this.rt, dq, dk, dv, { ...p, nCtx }), p.nTokens * p.nHeads * p.headDim);
  }

  async swiglu(gate: Float32Array, up: Float32Array): Promise<Float32Array> {
    return this.run([gate, up], ([g, u]) => ops.swiglu(this.rt, g, u, gate.length), gate.length);
  }

  async add(a: Float32Array, b: Float32Array): Promise<Float32Array> {
    return this.run([a, b], ([da, db]) => ops.axpy(this.rt, da, db, 1, a.length), a.length);
  }

  /** Upload the inputs, run, read n values back, and free everything on the device. */
  private async run(inputs: Float32Array[], op: (d: DeviceArray[]) => Promise<DeviceArray>, n: number): Promise<Float32Array> {
    const dev: DeviceArray[] = [];
    try {
      for (const x of inputs) dev.push(await this.rt.upload(x));
      const out = await op(dev);
      const v = await this.rt.read(out);
      this.rt.free(out);
      return v.length === n ? v : v.slice(0, n);
    } finally {
      for (const d of dev) this.rt.free(d);
    }
  }
}
