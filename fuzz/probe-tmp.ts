import { serverTarget } from "./server-target.js";
import { Mutator } from "./mutate.js";
await serverTarget.init();
const m = new Mutator(7);
const seeds = serverTarget.seeds();
const corpus = [...seeds];
const times: [number, string][] = [];
for (let i = 0; i < 600; i++) {
  const a = corpus[m.int(corpus.length)];
  const x = serverTarget.mutate(a, m) ?? m.mutate(a, corpus[m.int(corpus.length)]);
  const t = performance.now();
  await serverTarget.run(x);
  const ms = performance.now() - t;
  times.push([ms, new TextDecoder().decode(x.subarray(0, 200))]);
  if (i % 3 === 0) corpus.push(x);
}
times.sort((a, b) => b[0] - a[0]);
const total = times.reduce((s, x) => s + x[0], 0);
console.log("total ms", total.toFixed(0), "per input", (total / times.length).toFixed(1));
for (const [ms, s] of times.slice(0, 12)) console.log(ms.toFixed(0), s.length, s.slice(0, 160));
await serverTarget.close();
