import { GGMLType, ggmlRowBytes } from "@llamats/tensor";
import { SharedArena, WasmMatmul } from "@llamats/kernels";
import { quantizeRows } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
const arena = new SharedArena();
const mm = new WasmMatmul(arena);
const rows = 1024, cols = 4096;
for (const [name, type] of Object.entries({ q4_0: GGMLType.Q4_0, q8_0: GGMLType.Q8_0 })) {
  const rb = ggmlRowBytes(type, cols);
  const bytes = arena.u8(arena.alloc(rb * rows));
  bytes.set(quantizeRows(type, randomNormal(rows * cols, 1, 0.05), rows, cols));
  const w = { type, rows, cols, bytes };
  for (const nTok of [1, 64, 1, 64]) {
    const x = new Float32Array(cols * nTok).map((_, i) => Math.sin(i));
    const out = new Float32Array(rows * nTok);
    const reps = nTok === 1 ? 100 : 5;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) mm.matmul(out, w, x, nTok);
    const dt = (performance.now() - t0) / reps / 1000;
    console.log(name, nTok, "GMAC/s", (rows * cols * nTok / dt / 1e9).toFixed(2));
  }
}
