import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { FormatError } from "@llamats/tensor";
import { describeConformance, fixturePath, randomNormal } from "@llamats/testkit";
import { openLlama2c, openModelSource } from "@llamats/formats";
import { makeTmpDir, thrown } from "./helpers/tmp.js";

const tmp = makeTmpDir("l2c");
after(() => tmp.cleanup());

/** A llama2.c file written the way export.py's legacy_export does; weights are a ramp. */
function writeLlama2c(path: string, c: { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number; shared: boolean }): Float32Array {
  const headDim = c.dim / c.heads;
  const kvDim = headDim * c.kvHeads;
  const n = c.vocab * c.dim + c.layers * (2 * c.dim + 2 * c.dim * c.dim + 2 * kvDim * c.dim + 3 * c.dim * c.hidden) + c.dim + c.seqLen * headDim + (c.shared ? 0 : c.vocab * c.dim);
  const w = randomNormal(n, 7);
  const header = new Int32Array([c.dim, c.hidden, c.layers, c.heads, c.kvHeads, c.shared ? c.vocab : -c.vocab, c.seqLen]);
  writeFileSync(path, Buffer.concat([Buffer.from(header.buffer), Buffer.from(w.buffer)]));
  return w;
}

describe("llama2.c reader", () => {
  it("maps run.c's weight order to canonical tensors (property over shapes, shared and unshared classifier)", () => {
    fc.assert(
      fc.property(fc.record({ heads: fc.integer({ min: 1, max: 4 }), kvDiv: fc.constantFrom(1, 2), headHalf: fc.integer({ min: 1, max: 3 }), hidden: fc.integer({ min: 1, max: 9 }), layers: fc.integer({ min: 1, max: 3 }), vocab: fc.integer({ min: 1, max: 7 }), seqLen: fc.integer({ min: 1, max: 5 }), shared: fc.boolean() }), (r) => {
        const heads = r.heads * r.kvDiv;
        const c = { dim: heads * r.headHalf * 2, hidden: r.hidden, layers: r.layers, heads, kvHeads: r.heads, vocab: r.vocab, seqLen: r.seqLen, shared: r.shared };
        const p = tmp.path("prop.bin");
        const w = writeLlama2c(p, c);
        const f = openLlama2c(p);
        try {
          const kvDim = (c.dim / heads) * c.kvHeads;
          const at = (name: string) => {
            const t = f.tensors.find((x) => x.name === name)!;
            return { t, first: new Float32Array(f.readTensor(name).slice().buffer)[0], idx: (t.offset - 28) / 4 };
          };
          expect(at("token_embd.weight").idx).to.equal(0);
          const L = c.layers;
          const afterEmb = c.vocab * c.dim;
          expect(at(`blk.${L - 1}.attn_norm.weight`).idx).to.equal(afterEmb + (L - 1) * c.dim);
          const wq0 = afterEmb + L * c.dim;
          expect(at("blk.0.attn_q.weight").idx).to.equal(wq0);
          expect(at("blk.0.attn_k.weight").idx).to.equal(wq0 + L * c.dim * c.dim);
          expect(at("blk.0.attn_k.weight").t.shape).to.deep.equal([kvDim, c.dim]);
          expect(at(`blk.${L - 1}.ffn_up.weight`).t.shape).to.deep.equal([c.hidden, c.dim]);
          expect(at("blk.0.ffn_down.weight").t.shape).to.deep.equal([c.dim, c.hidden]);
          const out = at("output.weight");
          expect(out.first).to.equal(w[out.idx]);
          if (c.shared) expect(out.idx).to.equal(0);
          else expect(out.t.offset + out.t.byteLength).to.equal(28 + w.length * 4);
          expect(f.config.sharedClassifier).to.equal(c.shared);
          expect(f.tensors).to.have.length(3 + 9 * L);
        } finally {
          f.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it("rejects bad headers, truncation and trailing bytes with FormatErrors", () => {
    const p = tmp.path("good.bin");
    writeLlama2c(p, { dim: 8, hidden: 12, layers: 2, heads: 2, kvHeads: 1, vocab: 5, seqLen: 4, shared: false });
    const good = readFileSync(p);
    const bad = tmp.path("bad.bin");
    const expectBad = (b: Uint8Array, re: RegExp) => {
      writeFileSync(bad, b);
      const err = thrown(() => openLlama2c(bad).close());
      expect(err, String(err)).to.be.instanceOf(FormatError);
      expect(err.message).to.match(re);
    };
    for (const n of [0, 3, 27, 28, 100, good.length - 1]) expectBad(good.subarray(0, n), /header|weights/);
    expectBad(Buffer.concat([good, Buffer.alloc(4)]), /trailing/);
    const fields = [["dim", 0], ["hidden_dim", 4], ["n_layers", 8], ["n_heads", 12], ["n_kv_heads", 16], ["seq_len", 24]] as const;
    for (const [name, off] of fields) {
      for (const v of [0, -1, 0x7fffffff]) {
        const b = Buffer.from(good);
        b.writeInt32LE(v, off);
        expectBad(b, new RegExp(name));
      }
    }
    const b = Buffer.from(good);
    b.writeInt32LE(3, 12); // 8 not a multiple of 3 heads
    expectBad(b, /n_heads/);
    // every single-bit flip of the header: a FormatError (the file size no longer matches) or a valid parse
    for (let i = 0; i < 28; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const f = Buffer.from(good);
        f[i] ^= 1 << bit;
        writeFileSync(bad, f);
        try {
          openLlama2c(bad).close();
        } catch (err) {
          expect(err, `flip bit ${bit} of byte ${i}: ${String(err)}`).to.be.instanceOf(FormatError);
        }
      }
    }
  });
});

describeConformance("llama2.c conformance: stories260K", ["stories260K/stories260K.bin"], () => {
  it("reads the header and maps every weight", async () => {
    const s = await openModelSource(fixturePath("stories260K/stories260K.bin"));
    try {
      expect(s.format).to.equal("llama2c");
      expect(s.metadata).to.deep.include({ dim: 64, hidden_dim: 172, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: 512, seq_len: 512, shared_classifier: true });
      expect(s.config).to.deep.include({ embeddingLength: 64, headCountKv: 4, feedForwardLength: 172, blockCount: 5, layerNormRmsEpsilon: 1e-5 });
      expect(s.tensors).to.have.length(3 + 9 * 5);
      const k = s.tensors.find((t) => t.name === "blk.4.attn_k.weight")!;
      expect(k.shape).to.deep.equal([32, 64]);
      const emb = s.read("token_embd.weight");
      expect(Buffer.from(s.read("output.weight")).equals(Buffer.from(emb))).to.equal(true);
      // The final norm weights of a trained model sit around 1, not at random-init scale.
      const norm = new Float32Array(s.read("output_norm.weight").slice().buffer);
      expect(norm.every((v) => Number.isFinite(v) && Math.abs(v) < 100)).to.equal(true);
    } finally {
      s.close();
    }
  });
});
