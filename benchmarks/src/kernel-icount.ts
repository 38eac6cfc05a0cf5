// Instruction counts of one quantised matrix-vector kernel, for `valgrind --tool=callgrind`
// (instructions are repeatable on a shared, noisy VM; seconds are not). The process builds a
// rows x cols matrix, places it (repacked or not), prepares one generation job and runs the
// kernel `reps` times; run it twice with different reps and divide the difference in
// instructions by (reps difference) * rows * cols / 128 for instructions per 128 weights:
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --conditions=source \
//     --import=tsx benchmarks/src/kernel-icount.ts --type q4_0 --layout x4 --reps 10
//
// (`scripts/kernel-icount.sh` does the two runs and the division.) --layout standard keeps
// ggml's row layout (the kernel before the repack); --tokens N measures a prefill tile.

import { GGMLType } from "@llamats/tensor";
import { quantizeRows } from "@llamats/quant";
import { randomNormal } from "@llamats/testkit";
import { SharedArena, WasmMatmul, kernelModule } from "@llamats/kernels";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const type = ({ q4_0: GGMLType.Q4_0, q8_0: GGMLType.Q8_0, q4_k: GGMLType.Q4_K } as Record<string, GGMLType>)[arg("type", "q4_0")]!;
const rows = Number(arg("rows", "1024"));
const cols = Number(arg("cols", "4096"));
const reps = Number(arg("reps", "10"));
const nTok = Number(arg("tokens", "1"));
const layout = arg("layout", "x4");
const mm = new WasmMatmul(new SharedArena({ initialBytes: 64 << 20 }), kernelModule(), { repack: layout === "x4" });
// Deterministic weights without the cost of a long random stream: 64 rows repeated.
const base = quantizeRows(type, randomNormal(64 * cols, 1, 0.05), 64, cols);
const bytes = new Uint8Array(base.length * (rows / 64));
for (let i = 0; i < rows / 64; i++) bytes.set(base, i * base.length);
const w = { type, rows, cols, bytes };
const { job } = mm.prepare(w, randomNormal(nTok * cols, 2), nTok);
for (let r = 0; r < reps; r++) mm.run(job, 0, rows);
process.stderr.write(`${job.kernel} ${rows}x${cols} x${nTok} reps ${reps}\n`);
