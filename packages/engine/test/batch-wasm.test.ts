// On the WebAssembly backend the Q4_0-family kernels sum a 1-row product (generation tiles) in
// another order than a several-row one, so a sequence batched with others is not bit-identical
// to it alone: its logits must stay within the kernels' bound and its greedy ids the same.
import { expect } from "chai";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { cleanupTestDir, tinyModel } from "./helpers.js";

describe("engine/batched sequences on the wasm backend (Q4_0, Q8_0)", function () {
  for (const type of ["q4_0", "q8_0"]) {
    it(`${type}: logits of 3 batched sequences within 1e-3 relative of each alone; greedy ids equal`, async () => {
      const m: LlamaModel = await loadModel(tinyModel(type), { backend: "wasm", threads: 1, nCtx: 64 });
      try {
        const prompts = [[1, 300, 400, 500], [1, 42], [1, 7, 8, 9, 10, 11]];
        const alone = async (p: number[]) => {
          const s = m.createSequence();
          const first = Float32Array.from(await s.evaluate(p, { pos: 0 }));
          const ids: number[] = [];
          for await (const id of s.generateIds(p, { temperature: 0, repeatPenalty: 1, maxTokens: 8, eosId: -1 })) ids.push(id);
          s.dispose();
          return { first, ids };
        };
        const solo: Awaited<ReturnType<typeof alone>>[] = [];
        for (const p of prompts) solo.push(await alone(p));
        const seqs = prompts.map(() => m.createSequence());
        const firsts = await Promise.all(seqs.map((s, i) => s.evaluate(prompts[i], { pos: 0 })));
        let maxRel = 0;
        firsts.forEach((f, i) => {
          const ref = solo[i].first;
          const mag = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          for (let j = 0; j < f.length; j++) maxRel = Math.max(maxRel, Math.abs(f[j] - ref[j]) / (1 + mag));
        });
        expect(maxRel).to.be.at.most(1e-3);
        // Q4_0's 1-row product uses the across-groups generation tiles, so the batched (several-row)
        // lm_head differs in the last bits — proof the three ran in one step. Q8_0 keeps the
        // row-pair path for one row too: bit-identical.
        if (type === "q4_0") expect(maxRel).to.be.greaterThan(0);
        else expect(maxRel).to.equal(0);
        const together = await Promise.all(seqs.map(async (s, i) => {
          const ids: number[] = [];
          for await (const id of s.generateIds(prompts[i], { temperature: 0, repeatPenalty: 1, maxTokens: 8, eosId: -1 })) ids.push(id);
          return ids;
        }));
        expect(together).to.deep.equal(solo.map((x) => x.ids));
        seqs.forEach((s) => s.dispose());
      } finally {
        m.dispose();
      }
    });
  }
  after(cleanupTestDir);
});
