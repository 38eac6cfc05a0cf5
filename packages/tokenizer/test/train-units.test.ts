// The pieces of vocab-train that reproduce C++ library behaviour, checked on their own.
import { expect } from "chai";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprintCat, mod64 } from "../src/train/u64.js";
import { Mt19937, ReservoirSampler, uniformBelow } from "../src/train/std-random.js";
import { heapSelect } from "../src/train/std-heap.js";
import { StdUnorderedMap, type HashNode } from "../src/train/std-hashtable.js";
import { forEachLine, makeMetaReplacer, splitWords } from "../src/train/corpus.js";
import { splitAsCsv } from "../src/train/options.js";
import { isValidPiece } from "../src/train/piece-validity.js";
import { substringNodes, suffixArray } from "../src/train/suffix-array.js";
import { formatFloat } from "../src/train/model.js";

const M64 = (1n << 64n) - 1n;
function mixRef(x: bigint, y: bigint): bigint {
  let a = x, b = 0xe08c1d668b756f82n, c = y;
  const steps: [string, number][] = [["a", 43], ["b", -9], ["c", 8], ["a", 38], ["b", -23], ["c", 5], ["a", 35], ["b", -49], ["c", 11], ["a", 12], ["b", -18], ["c", 22]];
  for (const [reg, s] of steps) {
    // a -= b; a -= c; a ^= (c >> s)   /  b -= c; b -= a; b ^= (a << s)  /  c -= a; c -= b; c ^= (b >> s)
    if (reg === "a") { a = (a - b) & M64; a = (a - c) & M64; a ^= c >> BigInt(s); }
    else if (reg === "b") { b = (b - c) & M64; b = (b - a) & M64; b ^= (a << BigInt(-s)) & M64; }
    else { c = (c - a) & M64; c = (c - b) & M64; c ^= b >> BigInt(s); }
  }
  return c;
}

describe("vocab-train building blocks", () => {
  it("fingerprintCat on uint32 halves = the 64-bit mix in BigInt; mod64 = BigInt %", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, u32, u32, fc.integer({ min: 1, max: 2 ** 36 }), (xh, xl, yh, yl, m) => {
        const out = fingerprintCat(xh, xl, yh, yl, { hi: 0, lo: 0 });
        const ref = mixRef((BigInt(xh) << 32n) | BigInt(xl), (BigInt(yh) << 32n) | BigInt(yl));
        expect((BigInt(out.hi) << 32n) | BigInt(out.lo)).to.equal(ref);
        expect(mod64(out.hi, out.lo, m)).to.equal(Number(ref % BigInt(m)));
      }),
      { numRuns: 300 },
    );
  });

  it("Mt19937: the C++ standard's check value (10000th output of seed 5489 is 4123659995)", () => {
    const g = new Mt19937(5489);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = g.next();
    expect(v).to.equal(4123659995);
  });

  it("uniformBelow stays in range; the reservoir keeps `size` items", () => {
    const g = new Mt19937(1);
    for (let n = 1; n < 5000; n += 37) {
      const x = uniformBelow(g, n);
      expect(x).to.be.at.least(0).and.below(n);
    }
    const r = new ReservoirSampler<number>(10, 12345678);
    for (let i = 0; i < 1000; i++) r.add(i);
    expect(r.sampled.length).to.equal(10);
    expect(r.totalSize).to.equal(1000);
    expect(new Set(r.sampled).size).to.equal(10);
  });

  it("heapSelect keeps the k best (ties resolved somehow, but never a worse one)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 200 }), fc.nat(), (xs, k0) => {
        const k = k0 % (xs.length + 1);
        const a = xs.slice();
        heapSelect(a, k, (x, y) => x > y);
        const sorted = xs.slice().sort((x, y) => y - x);
        expect(a.slice(0, k).sort((x, y) => y - x)).to.deep.equal(sorted.slice(0, k));
        expect(a.slice().sort()).to.deep.equal(xs.slice().sort());
      }),
    );
  });

  it("StdUnorderedMap finds, inserts and erases like a map; grows through libstdc++'s primes", () => {
    const m = new StdUnorderedMap<HashNode>();
    const live = new Map<number, HashNode>();
    const g = new Mt19937(7);
    for (let i = 0; i < 5000; i++) {
      const k = g.next() % 3000;
      if (g.next() % 3 === 0) {
        expect(m.erase(0, k)).to.equal(live.delete(k));
      } else if (!m.find(0, k)) {
        const n: HashNode = { fpHi: 0, fpLo: k, hnext: null, hbkt: 0 };
        m.insert(n);
        live.set(k, n);
      }
      if (i % 500 === 0) for (const [k2, n2] of live) expect(m.find(0, k2)).to.equal(n2);
    }
    expect(m.size).to.equal(live.size);
    expect(new Set([...m].map((n) => n.fpLo))).to.deep.equal(new Set(live.keys()));
    expect([13, 29, 59, 127, 257, 541, 1109, 2357, 5087]).to.include(m.bucketCount);
  });

  it("suffixArray (SA-IS) = sorting the suffixes; substringNodes = the repeated right-branching substrings", () => {
    const naive = (t: number[]): number[] =>
      t.map((_, i) => i).sort((a, b) => {
        for (let k = 0; ; k++) {
          if (a + k >= t.length) return -1; // the shorter suffix is a prefix: it comes first
          if (b + k >= t.length) return 1;
          if (t[a + k] !== t[b + k]) return t[a + k] - t[b + k];
        }
      });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 300 }), fc.boolean(), (xs, big) => {
        const t = big ? xs.map((x) => x * 70000) : xs;
        expect(Array.from(suffixArray(Int32Array.from(t)))).to.deep.equal(naive(t));
      }),
      { numRuns: 300 },
    );
    // "abab": nodes "ab" (x2), "b" (x2) and the root (depth 0), deepest first where they close together
    const nodes = substringNodes(Int32Array.from([1, 2, 1, 2]));
    const got = Array.from({ length: nodes.count }, (_, i) => [nodes.depth[i], nodes.right[i] - nodes.left[i]]);
    expect(got).to.deep.equal([[2, 2], [1, 2], [0, 4]]);
  });

  it("splitAsCsv follows util::StrSplitAsCSV (quotes, doubled quotes, empty fields)", () => {
    expect(splitAsCsv("a,b")).to.deep.equal(["a", "b"]);
    expect(splitAsCsv("a,")).to.deep.equal(["a"]);
    expect(splitAsCsv(",a")).to.deep.equal(["", "a"]);
    expect(splitAsCsv('"x,y",z')).to.deep.equal(["x,y", "z"]);
    expect(splitAsCsv('"say ""hi""",q')).to.deep.equal(['say "hi"', "q"]);
  });

  it("splitWords starts a word at each ▁; meta pieces become a tab, longest first", () => {
    expect(splitWords("▁ab▁c▁▁d")).to.deep.equal(["▁ab", "▁c", "▁", "▁d"]);
    expect(splitWords("ab▁c")).to.deep.equal(["ab", "▁c"]);
    const r = makeMetaReplacer(["<s>", "</s>", "<sep>", "<0x41>"], "\t");
    expect(r("a<s>b</s><sep><0x41>x<")).to.equal("a\tb\t\t\tx<");
  });

  it("isValidPiece: scripts, digits, ▁ only as a prefix, length", () => {
    const rules = { maxSentencepieceLength: 16, splitByUnicodeScript: true, splitByNumber: true, splitByWhitespace: true, splitDigits: false, treatWhitespaceAsSuffix: false, allowWhitespaceOnlyPieces: false };
    const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
    expect(isValidPiece(cps("▁ab"), rules)).to.equal(true);
    expect(isValidPiece(cps("a▁b"), rules)).to.equal(false);
    expect(isValidPiece(cps("ab中"), rules)).to.equal(false);
    expect(isValidPiece(cps("中かナ"), rules)).to.equal(true); // kana count as Han
    expect(isValidPiece(cps("é"), rules)).to.equal(true); // combining mark takes the previous script
    expect(isValidPiece(cps("a1"), rules)).to.equal(false); // split_by_number
    expect(isValidPiece(cps("12"), { ...rules, splitDigits: true })).to.equal(false);
    expect(isValidPiece(cps("a".repeat(17)), rules)).to.equal(false);
  });

  it("formatFloat prints as iostream does (%g, 6 digits)", () => {
    expect(formatFloat(-12)).to.equal("-12");
    expect(formatFloat(0)).to.equal("0");
    expect(formatFloat(-8.123456)).to.equal("-8.12346");
    expect(formatFloat(-1234567)).to.equal("-1.23457e+06");
    expect(formatFloat(0.0001234)).to.equal("0.0001234");
    expect(formatFloat(-0.00001234)).to.equal("-1.234e-05");
  });

  it("forEachLine: lines across read-buffer boundaries, CR kept, last line without newline", () => {
    const dir = mkdtempSync(join(tmpdir(), "lines-"));
    try {
      const lines: string[] = [];
      let size = 0;
      for (let i = 0; size < 2_500_000; i++) {
        lines.push(`line ${i} ${"x".repeat(i % 97)}${i % 11 === 0 ? "\r" : ""}`);
        size += lines[i].length + 1;
      }
      lines.push("");
      lines.push("last");
      writeFileSync(join(dir, "a.txt"), lines.join("\n"));
      writeFileSync(join(dir, "b.txt"), "b1\nb2\n");
      const got: string[] = [];
      forEachLine([join(dir, "a.txt"), join(dir, "b.txt")], (l) => got.push(Buffer.from(l).toString("utf8")));
      expect(got).to.deep.equal([...lines, "b1", "b2"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
