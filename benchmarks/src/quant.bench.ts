// Quantisation speed: (1) quantising F16 weights, one thread (decode + reference
// quantiser) in MB/s of F16 input, side by side with llama.cpp's own quantisers
// (ggml_quantize_chunk in libggml-base.so of node-llama-cpp, timed through python3 +
// ctypes when both are present; node-llama-cpp ships no llama-quantize binary); (2) quantised
// matrix-vector products (@llamats/quant quantKernels: activations to Q8_0/Q8_1/Q8_K, integer
// dots; and quantKernelsF32: row decode + float dot) in GB/s of weights read, one thread;
// (3) the 2-thread quantize pool's speed-up.
// Prints JSON; `run()` returns the same object.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GGMLType, decodeF16, encodeF16, ggmlTypeInfo, type WeightMatrix } from "@llamats/tensor";
import { createQuantizePool, quantKernels, quantKernelsF32, quantizeRows } from "@llamats/quant";
import { randomNormal, repoRoot } from "@llamats/testkit";
import { round, runStandalone } from "./harness.js";

const TYPES = [GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q8_0, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K];

function timeBest(fn: () => void, minMs: number, maxReps = 50): number {
  fn();
  let best = Infinity;
  const t0 = performance.now();
  for (let r = 0; r < maxReps && (r < 2 || performance.now() - t0 < minMs); r++) {
    const a = performance.now();
    fn();
    best = Math.min(best, performance.now() - a);
  }
  return best / 1000;
}

const LLAMA_CPP_TIMER = `
import ctypes, json, sys, time, array
lib = ctypes.CDLL(sys.argv[1])
lib.ggml_quantize_chunk.restype = ctypes.c_size_t
lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
lib.ggml_fp16_to_fp32_row.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
rows, cols = int(sys.argv[2]), int(sys.argv[3])
n = rows * cols
h = (ctypes.c_uint16 * n)(*([0x2e66, 0xae66, 0x3266, 0x1e66] * (n // 4)))
f = (ctypes.c_float * n)()
dst = (ctypes.c_uint8 * (n * 2))()
out = {}
for t in [int(a) for a in sys.argv[4].split(",")]:
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter()
        lib.ggml_fp16_to_fp32_row(h, f, n)
        lib.ggml_quantize_chunk(t, f, dst, 0, rows, cols, None)
        best = min(best, time.perf_counter() - t0)
    out[t] = best
print(json.dumps(out))
`;

/** llama.cpp's seconds per (rows, cols) F16 -> type, or undefined when it cannot be run. */
function llamaCppSeconds(rows: number, cols: number): Record<number, number> | undefined {
  const lib = join(repoRoot(), "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so");
  if (process.platform !== "linux" || process.arch !== "x64" || !existsSync(lib)) return undefined;
  const r = spawnSync("python3", ["-c", LLAMA_CPP_TIMER, lib, String(rows), String(cols), TYPES.join(",")], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as Record<number, number>;
  } catch {
    return undefined;
  }
}

export async function run(): Promise<unknown> {
  const cols = 4096;
  const qRows = 512; // 4 MiB of F16 per quantisation pass
  const w32 = randomNormal(qRows * cols, 1, 0.02);
  const w16 = encodeF16(w32); // (qRows, cols) f16
  const reference = llamaCppSeconds(qRows, cols);
  const quantize = TYPES.map((type) => {
    const secs = timeBest(() => quantizeRows(type, decodeF16(w16), qRows, cols), 1500, 5);
    const mbPerSec = (w16.byteLength / secs) / 1e6;
    const ref = reference?.[type];
    const entry: Record<string, unknown> = { type: ggmlTypeInfo(type)!.name, inputMB: round(w16.byteLength / 1e6), mbPerSec: round(mbPerSec) };
    if (ref) {
      entry.llamaCppMbPerSec = round(w16.byteLength / ref / 1e6);
      entry.ratioToLlamaCpp = round(mbPerSec / (w16.byteLength / ref / 1e6));
    }
    process.stderr.write(`  quantize f16->${entry.type}: ${entry.mbPerSec} MB/s${ref ? ` (llama.cpp ${entry.llamaCppMbPerSec})` : ""}\n`);
    return entry;
  });

  // `llamats quantize --threads 2`: the same work split over the caller and one worker.
  const pool = await createQuantizePool(2);
  const threaded = [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q4_K].map((type) => {
    const secs = timeBest(() => pool.quantizeRows(type, decodeF16(w16), qRows, cols), 1500, 5);
    const one = quantize.find((q) => q.type === ggmlTypeInfo(type)!.name)!.mbPerSec as number;
    const mbPerSec = round(w16.byteLength / secs / 1e6);
    process.stderr.write(`  quantize f16->${ggmlTypeInfo(type)!.name}, 2 threads: ${mbPerSec} MB/s\n`);
    return { type: ggmlTypeInfo(type)!.name, threads: 2, mbPerSec, speedup: round(mbPerSec / one) };
  });
  pool.dispose();

  const mRows = 4096;
  const full = randomNormal(mRows * cols, 2, 0.02);
  const x = randomNormal(cols, 3);
  const y = new Float32Array(mRows);
  const matvec = [...TYPES, GGMLType.F16].map((type) => {
    const w: WeightMatrix = { type, rows: mRows, cols, bytes: quantizeRows(type, full, mRows, cols) };
    const q8 = timeBest(() => quantKernels[type]!.matmul(y, w, x, 1), 1500, 20);
    const f32 = timeBest(() => quantKernelsF32[type]!.matmul(y, w, x, 1), 1500, 20);
    const entry = {
      type: ggmlTypeInfo(type)!.name, shape: [mRows, cols], weightMB: round(w.bytes.length / 1e6),
      q8ActivationsGBs: round(w.bytes.length / q8 / 1e9), f32ActivationsGBs: round(w.bytes.length / f32 / 1e9),
    };
    process.stderr.write(`  matvec ${entry.type}: ${entry.q8ActivationsGBs} GB/s (q8 act), ${entry.f32ActivationsGBs} GB/s (f32 act)\n`);
    return entry;
  });
  return { quantize, quantizeThreads: threaded, matvec, llamaCppReference: reference ? "libggml-base.so ggml_quantize_chunk (1 thread, via python3 ctypes)" : null };
}

runStandalone(import.meta.url, "quant", run);
