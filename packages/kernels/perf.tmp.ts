import { GGMLType, ggmlRowBytes } from "@llamats/tensor";
import { SharedArena, WasmMatmul } from "@llamats/kernels";
const arena = new SharedArena();
const mm = new WasmMatmul(arena);
const rows = 4096, cols = 4096;
for (const [name, type] of Object.entries({ q4_0: GGMLType.Q4_0, q8_0: GGMLType.Q8_0, q6_K: GGMLType.Q6_K, q4_K: GGMLType.Q4_K, f16: GGMLType.F16, f32: GGMLType.F32, q5_0: GGMLType.Q5_0 })) {
  const rb = ggmlRowBytes(type, cols);
  const bytes = arena.u8(arena.alloc(rb * rows));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24 & 0x3b;
  const w = { type, rows, cols, bytes };
  for (const nTok of [1, 64]) {
    const x = new Float32Array(cols * nTok).map((_, i) => Math.sin(i));
    const out = new Float32Array(rows * nTok);
    mm.matmul(out, w, x, nTok);
    let reps = nTok === 1 ? 50 : 3;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) mm.matmul(out, w, x, nTok);
    const dt = (performance.now() - t0) / reps / 1000;
    console.log(name, "nTok", nTok, "ms", (dt * 1000).toFixed(2), "GB/s", (bytes.length / dt / 1e9).toFixed(2), "GMAC/s", (rows * cols * nTok / dt / 1e9).toFixed(2));
  }
}
