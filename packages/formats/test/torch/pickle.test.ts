// The restricted unpickler: state-dict pickles parse; anything that could execute code or
// exhaust memory fails with a FormatError naming what and where.

import { expect } from "chai";
import fc from "fast-check";
import { FormatError } from "@llamats/tensor";
import {
  PyDict, PyTuple, TorchTensorRef, pickleStateDict, unpickle, type PickledTensor, type TorchDType,
} from "@llamats/formats";
import { b } from "./helpers.js";

function expectFormatError(bytes: Uint8Array, pattern: RegExp, offset?: number): FormatError {
  try {
    unpickle(bytes, "test.pkl");
  } catch (err) {
    expect(err).to.be.instanceOf(FormatError);
    const e = err as FormatError;
    expect(e.message).to.match(pattern);
    if (offset !== undefined) expect(e.offset).to.equal(offset);
    return e;
  }
  throw new Error("unpickle accepted a bad pickle");
}

const DTYPES: TorchDType[] = ["f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool"];

describe("torch pickle: restricted unpickler", () => {
  it("parses a hand-written state dict with _metadata (BUILD) and bytes via _codecs.encode", () => {
    const t: PickledTensor = { name: "w", dtype: "f16", shape: [2, 3], strides: [3, 1], storageKey: "0", storageOffset: 0, storageNumel: 6 };
    const body = pickleStateDict([t]);
    // Replace STOP with: BUILD({'_metadata': {}}) then STOP.
    const extra = b("}(X\x09\x00\x00\x00_metadata}ub.");
    const withBuild = new Uint8Array(body.length - 1 + extra.length);
    withBuild.set(body.subarray(0, body.length - 1));
    withBuild.set(extra, body.length - 1);
    const d = unpickle(withBuild, "x") as PyDict;
    expect(d).to.be.instanceOf(PyDict);
    expect(d.attrs!.get("_metadata")).to.be.instanceOf(PyDict);
    const w = d.get("w") as TorchTensorRef;
    expect(w.shape).to.deep.equal([2, 3]);
    expect(w.storage.dtype).to.equal("f16");
    const enc = unpickle(b("\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbfX\x06\x00\x00\x00latin1\x86R."), "x");
    expect([...(enc as Uint8Array)]).to.deep.equal([0xff]);
  });

  it("understands protocol 4 opcodes (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)", () => {
    const p = b("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05torch\x94\x8c\x04Size\x94\x93\x94K\x02K\x03\x86\x85R.");
    const v = unpickle(p, "x");
    expect(v).to.be.instanceOf(PyTuple);
    expect((v as PyTuple).items).to.deep.equal([2, 3]);
  });

  it("round-trips random state dicts through pickleStateDict", () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        dtype: fc.constantFrom(...DTYPES),
        shape: fc.array(fc.integer({ min: 0, max: 70000 }), { maxLength: 5 }),
        offset: fc.integer({ min: 0, max: 2 ** 40 }),
      }), { maxLength: 30 }),
      (specs) => {
        const tensors: PickledTensor[] = specs.map((s, i) => ({
          name: `t.${i}.名`, dtype: s.dtype, shape: s.shape, strides: s.shape.map((_, k) => k + 1),
          storageKey: String(i), storageOffset: s.offset, storageNumel: s.offset + 7,
        }));
        const d = unpickle(pickleStateDict(tensors), "x") as PyDict;
        expect(d.size).to.equal(tensors.length);
        tensors.forEach((t, i) => {
          const r = d.get(t.name) as TorchTensorRef;
          expect(r.shape).to.deep.equal(t.shape);
          expect(r.strides).to.deep.equal(t.strides);
          expect(r.storageOffset).to.equal(t.storageOffset);
          expect(r.storage).to.deep.include({ dtype: t.dtype, key: String(i), numel: t.storageNumel });
        });
      }), { numRuns: 60 });
  });

  it("memoizes past 256 entries and batches SETITEMS by 1000 like Python", () => {
    const tensors: PickledTensor[] = Array.from({ length: 1001 }, (_, i) => ({
      name: `n${i}`, dtype: "f32", shape: [1], strides: [1], storageKey: String(i), storageOffset: 0, storageNumel: 1,
    }));
    const d = unpickle(pickleStateDict(tensors), "x") as PyDict;
    expect(d.size).to.equal(1001);
    expect((d.get("n1000") as TorchTensorRef).storage.key).to.equal("1000");
  });

  describe("rejects", () => {
    it("os.system, builtins.eval, posix.system via GLOBAL, naming the global and its offset", () => {
      const e = expectFormatError(b("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."), /os\.system is not allowed/, 2);
      expect(e.field).to.equal("pickle global");
      expectFormatError(b("\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R."), /builtins\.eval is not allowed/, 2);
      expectFormatError(b("\x80\x02c__builtin__\neval\n."), /__builtin__\.eval/, 2);
      expectFormatError(b("cposix\nsystem\n."), /posix\.system/, 0);
    });

    it("subprocess.Popen and builtins.exec via STACK_GLOBAL", () => {
      expectFormatError(b("\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93."), /subprocess\.Popen is not allowed/, 21);
      expectFormatError(b("\x80\x04\x8c\x08builtins\x8c\x04exec\x93."), /builtins\.exec is not allowed/, 18);
    });

    it("torch globals that are not storage classes or rebuild functions", () => {
      expectFormatError(b("\x80\x02ctorch\nload\n."), /torch\.load is not allowed/);
      expectFormatError(b("\x80\x02ctorch._utils\n_rebuild_tensor\n."), /not allowed/);
    });

    it("object-building and protocol-0 opcodes", () => {
      expectFormatError(b("\x80\x02ccollections\nOrderedDict\n)\x81."), /NEWOBJ/);
      expectFormatError(b("(ios\nsystem\n."), /INST/);
      expectFormatError(b("I1\n."), /INT/);
      expectFormatError(b("\x80\x02\xff."), /unknown/);
    });

    it("calling a non-callable, REDUCE on an allowed class with bad args", () => {
      expectFormatError(b("\x80\x02N)R."), /not an allowed global/);
      expectFormatError(b("\x80\x02ctorch\nFloatStorage\n)R."), /cannot be called/);
      expectFormatError(b("\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R."), /latin1/);
    });

    it("lengths past the end and huge counts without allocating", () => {
      expectFormatError(b("\x80\x02X\xff\xff\xff\xff"), /needs 4294967295 bytes/);
      expectFormatError(b("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff"), /past the end/);
      expectFormatError(b("\x80\x02\x8b\xff\xff\xff\x7f"), /larger than any state dict needs/);
      expectFormatError(b("\x80\x02T\xff\xff\xff\xff"), /negative length/);
      expectFormatError(b("\x80\x02h\x07."), /memo slot 7 is empty/);
    });

    it("deep nesting, MARK floods, stack underflow, leftovers, no STOP", () => {
      expectFormatError(b("\x80\x02N" + "\x85".repeat(150) + "."), /nested deeper than 100/);
      expectFormatError(b("\x80\x02" + "(".repeat(150)), /MARKs nested deeper/);
      expectFormatError(b("\x80\x02R."), /stack underflow/);
      expectFormatError(b("\x80\x02(N(t."), /stack underflow|values left|no MARK/);
      expectFormatError(b("\x80\x02NN."), /values left on the stack/);
      expectFormatError(b("\x80\x02N"), /needs 1 bytes/);
    });

    it("persistent ids that are not torch storages", () => {
      expectFormatError(b("\x80\x02X\x03\x00\x00\x00abcQ."), /persistent id/);
      expectFormatError(b("\x80\x02(X\x07\x00\x00\x00storageNX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ."), /torch\.\*Storage/);
      expectFormatError(b("\x80\x02(X\x07\x00\x00\x00storagectorch\nHalfStorage\nX\x04\x00\x00\x00../aX\x03\x00\x00\x00cpuK\x01tQ."), /not a plain name/);
    });

    it("random mutations of a valid pickle fail only with FormatError", () => {
      const good = pickleStateDict(Array.from({ length: 4 }, (_, i) => ({
        name: `layers.${i}.w`, dtype: "f16" as const, shape: [3, 300], strides: [300, 1], storageKey: String(i), storageOffset: 0, storageNumel: 900,
      })));
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const bad = good.slice();
        for (const [at, v] of edits) bad[at] = v;
        try {
          unpickle(bad, "x");
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
        }
      }), { numRuns: 400 });
    });
  });
});
