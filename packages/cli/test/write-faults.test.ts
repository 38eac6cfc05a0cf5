// Issue 18, writers under faults, as library calls: an EIO or ENOSPC injected into the
// atomic writer's mkdir / open / write / fsync / close / rename (through @llamats/tensor's
// setAtomicFaultHook, the seam every writer goes through) and a disk that really fills (a
// small tmpfs, as root). After each failure: the error is a LlamatsError naming OUT, OUT
// holds its old bytes (a file output) or does not exist (a folder output), and no temp file
// or folder is left beside it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { AtomicFsOp } from "@llamats/tensor";
import { describeConformance } from "@llamats/testkit";
import { LIB_WRITERS, tensor, WRITER_FIXTURES, writerInputs, type LibWriter } from "./helpers/lib-writers.js";

const OPS: readonly AtomicFsOp[] = ["mkdir", "open", "write", "fsync", "close", "rename"];
const OLD = new TextEncoder().encode("the old complete output\n");

function injected(code: "EIO" | "ENOSPC", op: AtomicFsOp, path: string): NodeJS.ErrnoException {
  const text = code === "EIO" ? "i/o error" : "no space left on device";
  return Object.assign(new Error(`${code}: ${text}, ${op} '${path}' (injected)`), { code, errno: code === "EIO" ? -5 : -28, syscall: op, path });
}

/** Run the writer, counting the atomic writers' operations by kind. */
async function countOps(w: LibWriter, out: string, model: string): Promise<Record<AtomicFsOp, number>> {
  const n = Object.fromEntries(OPS.map((o) => [o, 0])) as Record<AtomicFsOp, number>;
  const { setAtomicFaultHook } = await tensor();
  const prev = setAtomicFaultHook((op) => void n[op]++);
  try {
    await w.run(out, model);
  } finally {
    setAtomicFaultHook(prev);
  }
  return n;
}

/** Run the writer with the `nth` operation `op` failing; the error it threw. */
async function runFailing(w: LibWriter, out: string, model: string, op: AtomicFsOp, nth: number, code: "EIO" | "ENOSPC"): Promise<unknown> {
  let seen = 0;
  const { setAtomicFaultHook } = await tensor();
  const prev = setAtomicFaultHook((o, path) => {
    if (o === op && ++seen === nth) throw injected(code, o, path);
  });
  try {
    await w.run(out, model);
  } catch (err) {
    return err;
  } finally {
    setAtomicFaultHook(prev);
  }
  return undefined;
}

/** OUT's state: its old bytes (file outputs start from OLD) or nothing, and no temp beside it. */
function expectUntouched(w: LibWriter, dir: string, out: string, what: string): void {
  const names = readdirSync(dir);
  if (w.kind === "file") {
    expect(names, `${what}: files left`).to.deep.equal(["out"]);
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(OLD)), `${what}: OUT does not hold its old bytes`).to.equal(true);
  } else {
    expect(names, `${what}: files left`).to.deep.equal([]);
  }
}

async function expectTyped(err: unknown, out: string, what: string, why: RegExp): Promise<void> {
  const { LlamatsError } = await tensor();
  expect(err, `${what}: no error`).to.not.equal(undefined);
  expect(err, `${what}: ${(err as Error)?.stack}`).to.be.instanceOf(LlamatsError);
  const msg = (err as Error).message;
  expect(msg, what).to.include(out);
  expect(msg, what).to.match(why);
  expect(msg.includes("\n"), `${what}: a one-line message`).to.equal(false);
}

/** A fresh folder with OUT in it (the old bytes for a file output, nothing for a folder). */
function freshOut(root: string, w: LibWriter, name: string): { dir: string; out: string } {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "out");
  if (w.kind === "file") writeFileSync(out, OLD);
  return { dir, out };
}

function suite(names: string[]): void {
  let root = "";
  let model = "";
  before(function () {
    this.timeout(120000);
    root = mkdtempSync(join(tmpdir(), "llamats-faults-"));
    return writerInputs(root).then((m) => void (model = m));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const name of names) {
    const w = LIB_WRITERS[name];
    it(`${name}: an EIO / ENOSPC at the first, a middle and the last of each mkdir/open/write/fsync/close/rename leaves OUT old or absent, no temp, a typed error naming OUT`, async function () {
      this.timeout(300000);
      // Reference run: how many operations of each kind a complete write makes.
      const ref = freshOut(root, w, `${name}-ref`);
      const counts = await countOps(w, ref.out, model);
      expect(counts.rename, "the writer renames its output into place").to.be.at.least(1);
      expect(counts.write).to.be.at.least(1);
      let cases = 0;
      for (const op of OPS) {
        const nths = [...new Set([1, Math.ceil(counts[op] / 2), counts[op]])].filter((k) => k >= 1);
        for (const nth of nths) {
          const code = cases % 2 ? "ENOSPC" : "EIO";
          const what = `${name}: ${code} at ${op} #${nth} of ${counts[op]}`;
          const { dir, out } = freshOut(root, w, `${name}-f`);
          const err = await runFailing(w, out, model, op, nth, code);
          await expectTyped(err, out, what, code === "EIO" ? /input\/output error \(EIO\)/ : /no space left on the device/);
          expectUntouched(w, dir, out, what);
          cases++;
        }
      }
      console.log(`      (${name}: ${cases} faults; a complete write makes ${OPS.map((o) => `${counts[o]} ${o}`).join(", ")})`);
      expect(cases).to.be.at.least(OPS.length);
    });
  }

  it(`a disk that really fills (a tmpfs smaller than the output): ${names.join(", ")}`, async function () {
    this.timeout(300000);
    const mnt = join(root, "small");
    mkdirSync(mnt, { recursive: true });
    let mountedOnce = false;
    {
      for (const name of names) {
        const w = LIB_WRITERS[name];
        // The output's size decides the tmpfs: half of it (whole pages, at least 2).
        const ref = freshOut(root, w, `${name}-size`);
        await w.run(ref.out, model);
        const size = w.kind === "file" ? statSync(ref.out).size : readdirSync(ref.out).reduce((a, f) => a + statSync(join(ref.out, f)).size, 0);
        const pages = Math.max(2, Math.floor(size / 2 / 4096));
        const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${pages * 4096}`, "tmpfs", mnt]);
        if (m.status !== 0) {
          console.log(`      (skipped: cannot mount a tmpfs here (needs root): ${m.stderr?.toString().trim() || m.error?.message})`);
          this.skip();
        }
        mountedOnce = true;
        try {
          const out = join(mnt, "out");
          if (w.kind === "file") writeFileSync(out, OLD);
          let err: unknown;
          try {
            await w.run(out, model);
          } catch (e) {
            err = e;
          }
          const what = `${name} into a ${pages * 4096}-byte tmpfs (output ${size} bytes)`;
          await expectTyped(err, out, what, /no space left on the device/);
          expectUntouched(w, mnt, out, what);
        } finally {
          spawnSync("umount", [mnt]);
        }
      }
      expect(mountedOnce).to.equal(true);
    }
  });
}

describe("library writers under injected EIO / ENOSPC and a full disk (issue 18)", () => {
  suite(Object.keys(LIB_WRITERS).filter((n) => !LIB_WRITERS[n].fixtures));
});

describeConformance("merge and vocab-merge under injected EIO / ENOSPC and a full disk (issue 18)", WRITER_FIXTURES, () => {
  suite(Object.keys(LIB_WRITERS).filter((n) => LIB_WRITERS[n].fixtures));
});
