// Shared test data: ggml's test-quantize-fns generator and its error metrics.
import { GGMLType } from "@llamats/tensor";

/** ggml's generate_data: 0.1 + 2 cos(i + offset), as float32. */
export function ggmlTestData(offset: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.1 + 2 * Math.cos(i + offset);
  return out;
}

/** ggml's array_rmse: sqrt(Σ (a - b)²) / n (sic: their "total error"). */
export function ggmlArrayRmse(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum) / a.length;
}

/** Every weight type llamats writes, with ggml's total-error bound (test-quantize-fns.cpp). */
export const writableTypes: { name: string; type: GGMLType; totalError: number; dotError: number }[] = [
  { name: "q4_0", type: GGMLType.Q4_0, totalError: 0.002, dotError: 0.02 },
  { name: "q4_1", type: GGMLType.Q4_1, totalError: 0.002, dotError: 0.02 },
  { name: "q5_0", type: GGMLType.Q5_0, totalError: 0.002, dotError: 0.02 },
  { name: "q5_1", type: GGMLType.Q5_1, totalError: 0.002, dotError: 0.02 },
  { name: "q8_0", type: GGMLType.Q8_0, totalError: 0.002, dotError: 0.02 },
  { name: "q4_K", type: GGMLType.Q4_K, totalError: 0.002, dotError: 0.02 },
  { name: "q5_K", type: GGMLType.Q5_K, totalError: 0.002, dotError: 0.02 },
  { name: "q6_K", type: GGMLType.Q6_K, totalError: 0.002, dotError: 0.02 },
];
