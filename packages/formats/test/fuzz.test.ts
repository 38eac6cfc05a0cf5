// Random multi-byte corruptions of valid files (GGUF, safetensors, llama2.c) through the
// public entry point: openModelSource / read must either work or throw a FormatError
// (LlamatsError) — never a RangeError, a TypeError, a hang or a crash.
import { expect } from "chai";
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { GGMLType, LlamatsError } from "@llamats/tensor";
import { gguf, openModelSourceSync, writeGguf, writeSafetensors, type SourceFormat } from "@llamats/formats";
import { makeTmpDir } from "./helpers/tmp.js";

const tmp = makeTmpDir("fuzz");
after(() => tmp.cleanup());

function fuzz(file: string, format: SourceFormat | undefined, headerBytes: number): void {
  const good = readFileSync(file);
  const p = tmp.path(`fuzzed-${format ?? "auto"}`);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(headerBytes - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.boolean(), (edits, truncate) => {
      const b = Buffer.from(good);
      for (const [at, v] of edits) b[at] = v;
      writeFileSync(p, truncate ? b.subarray(0, edits[0][0]) : b);
      try {
        const s = openModelSourceSync(p, format ? { format } : {});
        try {
          for (const t of s.tensors) s.read(t.name);
        } finally {
          s.close();
        }
      } catch (err) {
        expect(err, String((err as Error).stack)).to.be.instanceOf(LlamatsError);
      }
    }),
    { numRuns: 300 },
  );
}

describe("fuzzing the readers through openModelSource", () => {
  it("GGUF", () => {
    const p = tmp.path("m.gguf");
    writeGguf(p, {
      kv: [gguf.str("general.architecture", "llama"), gguf.u32("llama.attention.head_count", 2), gguf.u32("llama.embedding_length", 8)],
      tensors: [
        { name: "token_embd.weight", type: GGMLType.F16, shape: [3, 8], data: new Uint8Array(48) },
        { name: "blk.0.attn_q.weight", type: GGMLType.F32, shape: [8, 8], data: new Uint8Array(256) },
      ],
    });
    fuzz(p, undefined, 200);
  });
  it("safetensors (HF names, no config.json: pass-through or a FormatError)", () => {
    const p = tmp.path("m.safetensors");
    writeSafetensors(p, [
      { name: "a.weight", dtype: "F16", shape: [3, 8], data: new Uint8Array(48) },
      { name: "b", dtype: "BF16", shape: [2], data: new Uint8Array(4) },
    ], { format: "pt" });
    fuzz(p, undefined, 150);
  });
  it("llama2.c", () => {
    const p = tmp.path("m.bin");
    const dim = 8, hidden = 4, layers = 1, vocab = 3, seq = 2, heads = 2;
    const n = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seq * (dim / heads);
    const header = new Int32Array([dim, hidden, layers, heads, heads, vocab, seq]);
    writeFileSync(p, Buffer.concat([Buffer.from(header.buffer), Buffer.alloc(n * 4)]));
    fuzz(p, "llama2c", 28);
  });
});
