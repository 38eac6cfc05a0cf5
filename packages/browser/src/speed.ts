// Prompt processing (pp) and generation (tg) speed of a loaded model, measured the same way in
// a page (bench.html) and in Node (benchmarks/src/browser.bench.ts): a warm-up, then forward()
// of pp prompt tokens in one batch (prefill), then tg single-token forwards (decode);
// tok/s = tokens / wall time. Token ids are fixed and spread over the vocabulary.

export interface SpeedResult {
  readonly pp: number;
  readonly tg: number;
  readonly ppTokPerSec: number;
  readonly tgTokPerSec: number;
}

/** What measureSpeed needs of a model (LlamaModel has it). */
export interface ForwardModel {
  reset(): void;
  forward(ids: number[]): Float32Array;
  readonly config: { readonly vocabSize: number };
}

function run(m: ForwardModel, pp: number, tg: number): SpeedResult {
  const vocab = m.config.vocabSize;
  const ids = Array.from({ length: pp }, (_, i) => 1 + ((i * 7919) % (vocab - 1)));
  m.reset();
  const t0 = performance.now();
  m.forward(ids);
  const t1 = performance.now();
  for (let i = 0; i < tg; i++) m.forward([1 + ((i * 104729) % (vocab - 1))]);
  const t2 = performance.now();
  return { pp, tg, ppTokPerSec: (pp * 1000) / (t1 - t0), tgTokPerSec: (tg * 1000) / (t2 - t1) };
}

/** A short warm-up (8 + 2 tokens: compiles, grows the scratch), then the measured run. */
export function measureSpeed(m: ForwardModel, pp: number, tg: number): SpeedResult {
  if (!Number.isInteger(pp) || pp < 1 || !Number.isInteger(tg) || tg < 1) throw new Error(`pp ${pp}, tg ${tg}: want positive integers`);
  run(m, 8, 2);
  const r = run(m, pp, tg);
  m.reset();
  return r;
}
