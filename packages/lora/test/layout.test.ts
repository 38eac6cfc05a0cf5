// The merge works on canonical tensors (Q/K rows interleaved) while PEFT's lora_B rows are in
// Hugging Face's rotate-half order: canonicalLoraRows moves them. Merging in the canonical
// layout must give the HF-layout merge's bits, row-permuted.
import { expect } from "chai";
import fc from "fast-check";
import { encodeF16 } from "@llamats/tensor";
import { permuteQkRows } from "@llamats/formats";
import { randomNormal } from "@llamats/testkit";
import { canonicalLoraRows, mergeTensor, metaShardCount } from "@llamats/lora";

const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe("LoRA factors in the canonical layout", () => {
  it("merge(W_canonical, B_canonical) = permute(merge(W_hf, B_hf)) for attn_q / attn_k, bit for bit (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer(), fc.boolean(),
        (nHeads, halfHeadDim, r, seed, isK) => {
          const rows = nHeads * 2 * halfHeadDim, cols = 8;
          const name = isK ? "blk.3.attn_k.weight" : "blk.3.attn_q.weight";
          const wHf = encodeF16(randomNormal(rows * cols, seed, 0.5));
          const a = randomNormal(r * cols, seed + 1, 0.3), bHf = randomNormal(rows * r, seed + 2, 0.3);
          const mergedHf = mergeTensor(wHf, rows, cols, [{ a, b: bHf, r, scale: 2 }]).f16;
          const want = permuteQkRows(bytesOf(mergedHf), rows, nHeads, "hfToInterleaved");
          const wCanon = new Uint16Array(permuteQkRows(bytesOf(wHf), rows, nHeads, "hfToInterleaved").slice().buffer);
          const heads = isK ? { headCount: 99, headCountKv: nHeads } : { headCount: nHeads };
          const bCanon = new Float32Array(canonicalLoraRows(name, bytesOf(bHf), rows, heads).slice().buffer);
          const got = mergeTensor(wCanon, rows, cols, [{ a, b: bCanon, r, scale: 2 }]).f16;
          expect(Array.from(bytesOf(got))).to.deep.equal(Array.from(want));
        }),
      { numRuns: 60 },
    );
  });

  it("leaves the rows of every other tensor alone", () => {
    const b = bytesOf(randomNormal(16, 1));
    for (const name of ["blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.1.ffn_gate.weight", "output.weight", "token_embd.weight"]) {
      expect(canonicalLoraRows(name, b, 8, { headCount: 2 })).to.equal(b);
    }
    expect(Array.from(canonicalLoraRows("blk.0.attn_q.weight", b, 8, { headCount: 2 }))).to.not.deep.equal(Array.from(b));
  });

  it("picks Meta's shard count from the model width", () => {
    expect(metaShardCount(4096)).to.equal(1);
    expect(metaShardCount(5120)).to.equal(2);
    expect(metaShardCount(6656)).to.equal(4);
    expect(metaShardCount(64)).to.equal(1);
  });
});
