import { loadModel } from "@llamats/engine";
const path = "/tmp/llamats-bench/synth-1b-q4_0.gguf";
const threads = Number(process.argv[2] ?? 2);
const tokens = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => ((i * 7919 + 13) % (vocab - 100)) + 50);
const res: Record<string, { pp: number; tg: number }> = {};
for (let round = 0; round < 2; round++) for (const repack of ["1", "0"]) {
  process.env.LLAMATS_WASM_REPACK = repack;
  const m = await loadModel(path, { threads, backend: "wasm", nCtx: 80, maxBatch: 64 });
  const v = m.config.vocabSize;
  const pp = () => { m.reset(); const t0 = performance.now(); m.forward(tokens(64, v), { pos: 0 }); return 64 / ((performance.now() - t0) / 1000); };
  const tg = () => { m.reset(); const ids = tokens(16, v); const t0 = performance.now(); for (let i = 0; i < 16; i++) m.forward([ids[i]!], { pos: i }); return 16 / ((performance.now() - t0) / 1000); };
  pp(); tg();
  const r = (res[repack] ??= { pp: 0, tg: 0 });
  for (let k = 0; k < 2; k++) { r.pp = Math.max(r.pp, pp()); r.tg = Math.max(r.tg, tg()); }
  m.dispose();
  console.log(round, repack === "1" ? "x4" : "standard", JSON.stringify(res[repack]));
}
