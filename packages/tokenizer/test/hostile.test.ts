// Hostile tokenizer inputs: a valid ModelProto (built by our encoder) with one field made to
// lie — a varint value or a length prefix replaced by a hostile number — and decode() of
// arbitrary ids. Only LlamatsError (FormatError for bytes) may escape, never RangeError /
// TypeError, and every input finishes in bounded time.
import { expect } from "chai";
import fc from "fast-check";
import { closeSync, openSync, ftruncateSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FormatError, LlamatsError } from "@llamats/tensor";
import { encodeModelProto, parseModelProto, readModelProto, Tokenizer } from "@llamats/tokenizer";
import { syntheticModel } from "./synthetic.js";

/** A varint on the wire: where it starts and ends, and whether it is a length prefix. */
interface VarintAt { start: number; end: number; isLength: boolean }

function readVarint(b: Uint8Array, at: number, end: number): { value: number; next: number } | undefined {
  let v = 0;
  let mul = 1;
  for (let i = at; i < end && i < at + 10; i++) {
    v += (b[i] & 0x7f) * mul;
    mul *= 128;
    if ((b[i] & 0x80) === 0) return { value: v, next: i + 1 };
  }
  return undefined;
}

/** Every tag-following varint (values and length prefixes) of a message and its sub-messages. */
function varints(b: Uint8Array, start: number, end: number, out: VarintAt[], depth = 0): boolean {
  let p = start;
  const found: VarintAt[] = [];
  while (p < end) {
    const tag = readVarint(b, p, end);
    if (!tag || tag.value >>> 3 === 0) return false;
    p = tag.next;
    const wire = tag.value & 7;
    if (wire === 0 || wire === 2) {
      const v = readVarint(b, p, end);
      if (!v) return false;
      found.push({ start: p, end: v.next, isLength: wire === 2 });
      p = v.next;
      if (wire === 2) {
        if (p + v.value > end) return false;
        if (depth < 2) varints(b, p, p + v.value, found, depth + 1);
        p += v.value;
      }
    } else if (wire === 5) p += 4;
    else if (wire === 1) p += 8;
    else return false;
  }
  if (p !== end) return false;
  out.push(...found);
  return true;
}

function encodeVarint(v: bigint): number[] {
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const HOSTILE = [0n, 1n, 2n, 127n, 128n, 255n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n];

function lie(good: Uint8Array, at: VarintAt, value: bigint): Uint8Array {
  const enc = encodeVarint(value);
  const out = new Uint8Array(good.length - (at.end - at.start) + enc.length);
  out.set(good.subarray(0, at.start));
  out.set(enc, at.start);
  out.set(good.subarray(at.end), at.start + enc.length);
  return out;
}

function exercise(bytes: Uint8Array): void {
  const t0 = performance.now();
  try {
    const tok = Tokenizer.fromBytes(bytes, "lying.model");
    const ids = tok.encode("Hello 世界 中文 ab");
    tok.decode(ids);
  } catch (err) {
    expect(err, String((err as Error).stack)).to.be.instanceOf(LlamatsError);
  }
  // A hang guard, not a speed target: a lying length must not make the decoder loop.
  expect(performance.now() - t0).to.be.below(5000);
}

describe("hostile tokenizer inputs", () => {
  const good = encodeModelProto(syntheticModel({ pieces: [["▁", -1], ["中文", -2.5], ["ab", -3], ["▁Hello", -1.5]] }));
  const fields: VarintAt[] = [];
  expect(varints(good, 0, good.length, fields)).to.equal(true);

  it("the valid model parses and round-trips text (the property's base case)", () => {
    const tok = Tokenizer.fromBytes(good);
    expect(tok.decode(tok.encode("ab 中文"))).to.equal("ab 中文");
    expect(fields.length).to.be.above(300);
  });

  it("ModelProto with one varint or length made to lie: only typed errors, bounded time", () => {
    fc.assert(
      fc.property(fc.nat(fields.length - 1), fc.oneof(fc.constantFrom(...HOSTILE), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), (i, v) => {
        exercise(lie(good, fields[i], v));
      }),
      { numRuns: 400 },
    );
  });

  it("ModelProto: every length prefix set to exceed the input fails with a FormatError naming its offset", () => {
    for (const f of fields.filter((x) => x.isLength).slice(0, 40)) {
      const bad = lie(good, f, BigInt(good.length + 1));
      try {
        parseModelProto(bad, "lying.model");
        expect.fail("parsed a length past the end");
      } catch (err) {
        expect(err).to.be.instanceOf(FormatError);
        expect((err as FormatError).offset).to.be.at.most(f.start);
      }
    }
  });

  it("a tokenizer.model larger than the 64 MiB limit is refused before it is read", () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-tok-hostile-"));
    try {
      const p = join(dir, "tokenizer.model");
      const fd = openSync(p, "w");
      ftruncateSync(fd, (64 << 20) + 1); // sparse: no disk used
      closeSync(fd);
      expect(() => readModelProto(p)).to.throw(LlamatsError, /exceed the 67108864-byte limit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decode of arbitrary ids: a LlamatsError for ids outside the vocabulary, text otherwise", () => {
    const tok = Tokenizer.fromBytes(good);
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -5, max: tok.vocabSize + 5 }), fc.double(), fc.constantFrom(NaN, Infinity, 2 ** 53)), { maxLength: 40 }), (ids) => {
        const valid = ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize);
        try {
          expect(tok.decode(ids)).to.be.a("string");
          expect(valid, `decoded invalid ids ${ids}`).to.equal(true);
        } catch (err) {
          expect(err, String((err as Error).stack)).to.be.instanceOf(LlamatsError);
          expect(valid).to.equal(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});
