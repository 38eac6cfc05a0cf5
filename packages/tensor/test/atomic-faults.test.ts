// The atomic writers under injected file-system faults (setAtomicFaultHook): every operation
// failing in turn leaves OUT with its old bytes (or no folder), no temp, no open descriptor,
// and one LlamatsError naming OUT. (Every llamats writer under the same faults, and a real
// full disk: packages/cli/test/write-faults.test.ts.)
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamatsError, setAtomicFaultHook, writeAtomically, writeDirAtomically, type AtomicFsOp } from "@llamats/tensor";

const OPS: readonly AtomicFsOp[] = ["mkdir", "open", "write", "fsync", "close", "rename"];
/** Files this process holds open under `dir` (Linux; elsewhere none are seen). */
function openUnder(dir: string): string[] {
  if (!existsSync("/proc/self/fd")) return [];
  return readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
}
const eio = (op: string) => Object.assign(new Error(`EIO: i/o error, ${op}`), { code: "EIO", errno: -5, syscall: op });

describe("atomic writers under injected faults (issue 18)", () => {
  let dir = "";
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "llamats-atomic-"))));
  afterEach(() => {
    setAtomicFaultHook(undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const op of OPS) {
    it(`a file: EIO at ${op} leaves the old bytes, no temp, no open descriptor, an error naming OUT`, () => {
      const out = join(dir, "out.bin");
      writeFileSync(out, "old");
      setAtomicFaultHook((o) => {
        if (o === op) throw eio(o);
      });
      // Two writes (the second one chunked by the caller) so "write" fails past the first bytes.
      expect(() => writeAtomically(out, (w) => {
        w.write(new Uint8Array(4096).fill(1));
        w.write(new Uint8Array(4096).fill(2));
      })).to.throw(LlamatsError, `cannot write ${out}: input/output error (EIO)`);
      expect(readFileSync(out, "utf8")).to.equal("old");
      expect(readdirSync(dir)).to.deep.equal(["out.bin"]);
      expect(openUnder(dir), "descriptors left open").to.deep.equal([]);
    });
  }

  for (const op of ["mkdir", "open", "rename"] as const) {
    it(`a folder: EIO at ${op} leaves no folder and no temp`, () => {
      const out = join(dir, "folder");
      setAtomicFaultHook((o, path) => {
        if (o === op && (op !== "mkdir" || path.includes(".tmp-"))) throw eio(o);
      });
      expect(() => writeDirAtomically(out, (tmp) => writeAtomically(join(tmp, "a.json"), (w) => w.write(new Uint8Array(10))))).to.throw(LlamatsError, /cannot write .*folder/);
      expect(readdirSync(dir)).to.deep.equal([]);
    });
  }

  it("a plain file-system error from a file written inside a folder output is typed and names OUT", () => {
    const out = join(dir, "folder");
    expect(() => writeDirAtomically(out, (tmp) => writeFileSync(join(tmp, "missing", "x"), "y"))).to.throw(LlamatsError, /cannot write .*folder/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("an error that is not the output's passes through unchanged", () => {
    const out = join(dir, "folder");
    expect(() => writeDirAtomically(out, () => readFileSync(join(dir, "no-such-input")))).to.throw(/ENOENT/).and.not.be.instanceOf(LlamatsError);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
