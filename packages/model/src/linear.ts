// A linear layer: out (n, w.rows) = x (n, w.cols) · Wᵀ, plus each runtime LoRA delta
// scale · B (A x), computed through the backend's matmul (so quantised A/B work too).

import type { Backend } from "@llamats/tensor";
import type { RunState } from "./state.js";
import type { Linear } from "./weights.js";

export function linear(state: RunState, out: Float32Array, w: Linear, x: Float32Array, n: number): void {
  const be: Backend = state.backend;
  be.matmul(out, w, x, n);
  if (!w.loras || w.loras.length === 0) return;
  for (const d of w.loras) {
    const r = d.a.rows;
    if (state.loraMid.length < n * r) state.loraMid = be.allocF32(state.maxBatch * r);
    if (state.loraOut.length < n * w.rows) state.loraOut = be.allocF32(state.maxBatch * w.rows);
    const mid = state.loraMid; // (n, r)
    const delta = state.loraOut; // (n, out)
    be.matmul(mid, d.a, x, n);
    be.matmul(delta, d.b, mid, n);
    const s = d.scale;
    for (let i = 0; i < n * w.rows; i++) out[i] += s * delta[i];
  }
}
