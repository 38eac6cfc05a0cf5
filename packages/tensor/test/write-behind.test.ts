import { expect } from "chai";
import fc from "fast-check";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AtomicFileWriter, LlamatsError, setWriteBehind, writeAtomically } from "@llamats/tensor";

describe("write-behind (AtomicFileWriter through a writer thread)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-wb-"));
  });
  afterEach(() => {
    setWriteBehind(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("files interleaved in chunks of any size (smaller and larger than a slot) get exactly their bytes, in order (property)", () => {
    setWriteBehind({ slotBytes: 64, slots: 3 });
    let run = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 300 })), { maxLength: 30 }), fc.integer(), (writes, seed) => {
        run++;
        const paths = [0, 1, 2].map((i) => join(dir, `f${run}-${i}.bin`));
        const writers = paths.map((p) => new AtomicFileWriter(p));
        const expected: number[][] = [[], [], []];
        let x = seed | 1;
        for (const [file, n] of writes) {
          const chunk = Uint8Array.from({ length: n }, () => ((x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 16) & 0xff);
          expected[file]!.push(...chunk);
          writers[file]!.write(chunk);
          chunk.fill(0); // the caller may reuse its buffer as soon as write() returns
          expect(writers[file]!.position).to.equal(expected[file]!.length);
        }
        writers.forEach((w) => w.commit());
        paths.forEach((p, i) => expect(Array.from(readFileSync(p)), p).to.deep.equal(expected[i]));
      }),
      { numRuns: 60 },
    );
    expect(readdirSync(dir).some((f) => f.includes(".tmp-"))).to.equal(false);
  });

  it("a write that fails on the writer thread (ENOSPC) fails that file's commit with a one-line LlamatsError naming it; the temp is removed", function () {
    if (!existsSync("/dev/full")) this.skip(); // Linux's always-full device
    setWriteBehind({ slotBytes: 16, slots: 2 });
    const path = join(dir, "out.bin");
    symlinkSync("/dev/full", `${path}.tmp-${process.pid}`); // the temp the writer opens: every write fails with ENOSPC
    let err: unknown;
    try {
      writeAtomically(path, (w) => {
        w.write(new Uint8Array(8));
        w.write(new Uint8Array(40));
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(LlamatsError);
    expect((err as Error).message).to.match(/^cannot write .*out\.bin: no space left on the device$/);
    expect(existsSync(path)).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
    // the next file (likely the same descriptor number) writes normally
    writeAtomically(join(dir, "next.bin"), (w) => w.write(new Uint8Array([1, 2, 3])));
    expect(Array.from(readFileSync(join(dir, "next.bin")))).to.deep.equal([1, 2, 3]);
  });

  it("off: writes go straight to the file again; turning it off drains what was queued", () => {
    setWriteBehind({ slotBytes: 1 << 20, slots: 2 });
    const w = new AtomicFileWriter(join(dir, "a.bin"));
    w.write(new Uint8Array(3 << 20).fill(5));
    setWriteBehind(false);
    w.write(new Uint8Array([9]));
    w.commit();
    const got = readFileSync(join(dir, "a.bin"));
    expect(got.length).to.equal((3 << 20) + 1);
    expect(got[0]).to.equal(5);
    expect(got[(3 << 20) - 1]).to.equal(5);
    expect(got[3 << 20]).to.equal(9);
  });
});
