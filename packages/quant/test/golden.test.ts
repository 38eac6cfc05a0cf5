// Byte-exactness against llama.cpp itself: golden/ggml-golden.json holds the output of
// ggml's reference quantisers and dequantisers (libggml-base.so of node-llama-cpp, run by
// golden/make-golden.py) on structured edge cases and seeded uniform rows.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { ggmlTypeByName } from "@llamats/tensor";
import { randomUniform } from "@llamats/testkit";
import { dequantizeRows, quantizeRows } from "@llamats/quant";

interface GoldenType { quantB64?: string; quantSha256: string; dequantSha256?: string }
interface GoldenCase {
  name: string; rows: number; cols: number; inputF32?: string;
  uniform?: { seed: number; lo: number; hi: number }; types: Record<string, GoldenType>;
}
const golden = JSON.parse(readFileSync(new URL("./golden/ggml-golden.json", import.meta.url), "utf8")) as { cases: GoldenCase[] };

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function input(c: GoldenCase): Float32Array {
  if (c.inputF32) {
    const buf = Buffer.from(c.inputF32, "base64");
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  const u = c.uniform!;
  return randomUniform(c.rows * c.cols, u.seed, u.lo, u.hi);
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

describe("quant: byte-exact with llama.cpp (golden vectors from libggml-base)", () => {
  for (const c of golden.cases) {
    describe(`${c.name} (${c.rows} x ${c.cols})`, () => {
      const x = input(c);
      for (const [name, g] of Object.entries(c.types)) {
        const type = ggmlTypeByName(name)!.id;
        it(`quantize ${name}`, () => {
          const q = quantizeRows(type, x, c.rows, c.cols);
          if (g.quantB64) {
            const want = new Uint8Array(Buffer.from(g.quantB64, "base64"));
            expect(firstDiff(q, want), "first differing byte").to.equal(-1);
          }
          expect(sha256(q)).to.equal(g.quantSha256);
        });
        if (g.dequantSha256) {
          it(`dequantize ${name}`, () => {
            const q = g.quantB64 ? new Uint8Array(Buffer.from(g.quantB64, "base64")) : quantizeRows(type, x, c.rows, c.cols);
            const y = dequantizeRows(type, q, c.rows, c.cols);
            expect(sha256(new Uint8Array(y.buffer))).to.equal(g.dequantSha256);
          });
        }
      }
    });
  }
});
