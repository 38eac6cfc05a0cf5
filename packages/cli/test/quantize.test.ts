// `llamats quantize` end to end on the tiny fixture model: tensor types follow llama-quantize's
// rules, bytes read back equal @llamats/quant's quantisers applied to the source, llama.cpp
// (node-llama-cpp, devDependency) loads the files, and its next-token log-probabilities
// match llamats's forward pass on the same file.
import { copyFileSync, mkdtempSync, readFileSync, openSync, closeSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { GGMLType, ggmlTypeInfo } from "@llamats/tensor";
import { dequantizeRows, quantizeRows } from "@llamats/quant";
import { openGguf, openModelSourceSync, rowsCols, toFloat32 } from "@llamats/formats";
import { loadModel } from "@llamats/engine";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { quantizeModel as quantizeModelFile } from "@llamats/formats";
import { runMain } from "./helpers/run-main.js";

const TINY = "tiny/base";
const prompt = [1, 450, 4996, 17354, 1701, 322, 263, 29871];

// llama.cpp through node-llama-cpp, loaded once (the first getLlama takes seconds).
let llamaInstance: Promise<import("node-llama-cpp").Llama> | undefined;
function llamaCpp(): Promise<import("node-llama-cpp").Llama> {
  llamaInstance ??= import("node-llama-cpp").then(({ getLlama }) => getLlama({ gpu: false, build: "never", logLevel: "error" as never }));
  return llamaInstance;
}

describeConformance("cli quantize: tiny model, llama.cpp interop", [`${TINY}/config.json`, `${TINY}/model.safetensors`], () => {
  let dir = "";
  const file = (t: string) => join(dir, `tiny-${t}.gguf`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "llamats-quantize-"));
    for (const t of ["q8_0", "q4_0", "q4_k", "f16"]) await quantizeModelFile(fixturePath(TINY), file(t), t);
    await quantizeModelFile(fixturePath(TINY), file("q5_1-pure"), "Q5_1", { pure: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes llama-quantize's tensor types and general.file_type", () => {
    const src = openModelSourceSync(file("q4_0"));
    try {
      const types = Object.fromEntries(src.tensors.map((t) => [t.name, ggmlTypeInfo(t.type)!.name]));
      expect(types["token_embd.weight"]).to.equal("q4_0");
      expect(types["blk.0.attn_q.weight"]).to.equal("q4_0");
      expect(types["blk.1.ffn_up.weight"]).to.equal("q4_0");
      expect(types["blk.0.ffn_down.weight"]).to.equal("f16"); // rows of 172: not a whole block
      expect(types["blk.0.attn_norm.weight"]).to.equal("f32");
      expect(types["output.weight"]).to.equal("q8_0"); // 64 % 256 != 0
      expect(src.metadata["general.file_type"]).to.equal(2);
    } finally {
      src.close();
    }
    const k = openModelSourceSync(file("q4_k"));
    try {
      expect(ggmlTypeInfo(k.tensors.find((t) => t.name === "blk.0.attn_q.weight")!.type)!.name).to.equal("q5_0");
      expect(k.metadata["general.file_type"]).to.equal(14);
    } finally {
      k.close();
    }
    const pure = openModelSourceSync(file("q5_1-pure"));
    try {
      expect(ggmlTypeInfo(pure.tensors.find((t) => t.name === "output.weight")!.type)!.name).to.equal("q5_1");
    } finally {
      pure.close();
    }
  });

  it("stores exactly quantizeRows of the source weights, within the quantisation bound of them", () => {
    const src = openModelSourceSync(fixturePath(TINY));
    const q = openModelSourceSync(file("q8_0"));
    try {
      for (const name of ["blk.0.attn_q.weight", "blk.1.attn_k.weight", "token_embd.weight"]) {
        const s = src.tensors.find((t) => t.name === name)!;
        const [rows, cols] = rowsCols(s.shape);
        const f = toFloat32(src.read(name), s.type, s.shape);
        const stored = q.read(name);
        expect(Buffer.from(stored).equals(Buffer.from(quantizeRows(GGMLType.Q8_0, f, rows, cols))), name).to.equal(true);
        const back = dequantizeRows(GGMLType.Q8_0, stored, rows, cols);
        let worst = 0;
        for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(back[i] - f[i]));
        let amax = 0;
        for (const v of f) amax = Math.max(amax, Math.abs(v));
        expect(worst, name).to.be.at.most((amax / 254) * 1.01);
      }
    } finally {
      src.close();
      q.close();
    }
  });

  for (const [t, tol] of [["f16", 2e-3], ["q8_0", 0.02], ["q4_0", 0.02], ["q4_k", 0.02]] as const) {
    it(`${t}: llama.cpp loads the file and its next-token log-probs match llamats (max |Δ| < ${tol})`, async () => {
      const llama = await llamaCpp();
      const lmodel = await llama.loadModel({ modelPath: file(t) });
      const ctx = await lmodel.createContext({ contextSize: 64, threads: 1 });
      let probs: Map<number, number>;
      try {
        const seq = ctx.getSequence();
        const last = prompt.length - 1;
        const items: ControlledEvaluateInputItem[] = prompt.map((id, i) =>
          (i === last ? [id as Token, { generateNext: { probabilities: true } }] : (id as Token)));
        const res = await seq.controlledEvaluate(items);
        probs = res[last]!.next!.probabilities!;
      } finally {
        await ctx.dispose();
        await lmodel.dispose();
      }
      const ours = await loadModel(file(t), { backend: "ts", nCtx: 64 });
      let logits: Float32Array;
      try {
        logits = ours.forward(prompt, { pos: 0, logits: "last" });
      } finally {
        ours.dispose();
      }
      const vocab = logits.length;
      let m = -Infinity;
      for (const v of logits) m = Math.max(m, v);
      let s = 0;
      for (const v of logits) s += Math.exp(v - m);
      const lse = m + Math.log(s);
      let worst = 0, compared = 0;
      for (const [id, p] of probs) {
        if (!(p > 1e-30) || id >= vocab) continue;
        worst = Math.max(worst, Math.abs(Math.log(p) - (logits[id] - lse)));
        compared++;
      }
      if (process.env.LLAMATS_VERBOSE) console.log(`${t}: worst ${worst} over ${compared}`);
      expect(compared).to.be.greaterThan(vocab / 2);
      expect(worst).to.be.below(tol);
    });
  }

  it("CLI: TYPE is case-insensitive, a bad TYPE or a missing input exits 2 without leaving files", async () => {
    const out = join(dir, "cli-q8.gguf");
    expect((await runMain(["quantize", fixturePath(TINY), out, "Q8_0", "--threads", "2"])).code).to.equal(0);
    expect(readFileSync(out).equals(readFileSync(file("q8_0"))), "--threads 2 writes the same bytes").to.equal(true);
    expect((await runMain(["quantize", fixturePath(TINY), join(dir, "bad.gguf"), "q9_9"])).code).to.equal(2);
    expect((await runMain(["quantize", join(dir, "missing"), join(dir, "bad.gguf"), "q4_0"])).code).to.equal(2);
    expect(readdirSync(dir).filter((f) => f.includes("bad") || f.includes(".tmp-"))).to.deep.equal([]);
  });

  it("refuses a NaN weight with the tensor name and block index (exit 2, no output)", async () => {
    const poisoned = join(dir, "nan.gguf");
    copyFileSync(file("f16"), poisoned);
    const g = openGguf(poisoned);
    const t = g.tensor("blk.1.attn_v.weight")!;
    const at = g.dataOffset + t.offset + 2 * (3 * 64 + 37); // row 3, column 37: block 1 of 32
    g.close();
    const fd = openSync(poisoned, "r+");
    writeSync(fd, new Uint8Array([0x00, 0x7e]), 0, 2, at); // f16 NaN
    closeSync(fd);
    const r = await runMain(["quantize", poisoned, join(dir, "bad-nan.gguf"), "q4_0"]);
    const code = r.code;
    const err = [r.err];
    expect(code).to.equal(2);
    expect(err.join("")).to.match(/blk\.1\.attn_v\.weight.*row 3, column 37 \(block 1\)/);
    expect(readdirSync(dir).filter((f) => f.includes("bad") || f.includes(".tmp-"))).to.deep.equal([]);
  });
});

describeConformance("cli quantize: Meta .pth and HF inputs", ["tiny/merged-llama/pth/consolidated.00.pth", "tiny/merged-llama/hf/model.safetensors"], () => {
  it("a Meta folder and the same model as HF safetensors quantise to identical tensors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-quantize-meta-"));
    try {
      await quantizeModelFile(fixturePath("tiny/merged-llama/pth"), join(dir, "meta.gguf"), "q4_0", { threads: 2 });
      await quantizeModelFile(fixturePath("tiny/merged-llama/hf"), join(dir, "hf.gguf"), "q4_0");
      const a = openModelSourceSync(join(dir, "meta.gguf"));
      const b = openModelSourceSync(join(dir, "hf.gguf"));
      try {
        expect(a.tensors.map((t) => t.name)).to.deep.equal(b.tensors.map((t) => t.name));
        for (const t of a.tensors) expect(Buffer.from(a.read(t.name)).equals(Buffer.from(b.read(t.name))), t.name).to.equal(true);
      } finally {
        a.close();
        b.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
