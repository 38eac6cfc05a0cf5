// Issue 18, writers killed at random points as bare library calls (no CLI, no supervisor to
// clean up): a child process runs one writer (GGUF, safetensors, quantize, convert to a
// file / HF folder / .pth folder, merge, vocab-merge) and is SIGKILLed. Two of every three
// kills land at a seeded random file-system operation of the write (the child kills itself
// just before it: the write's own points, however short it is); the third at a random time
// (in the computation before, or after the rename). After every kill OUT is absent or
// byte-identical to an uninterrupted write, nothing but OUT and temps is beside it, and the
// temps killed runs leave are removed by the next run. LLAMATS_LIB_KILLS sets the kills per
// writer (default 20).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { describeConformance, mulberry32 } from "@llamats/testkit";
import { LIB_WRITERS, tensor, WRITER_FIXTURES, writerInputs } from "./helpers/lib-writers.js";

const KILLS = Number(process.env.LLAMATS_LIB_KILLS ?? 20);
const childScript = fileURLToPath(new URL("./helpers/lib-writer-child.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTemp = (f: string) => /\.(tmp|stage)-\d+$/.test(f);

interface Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  done: boolean;
}

/** A child that has loaded the writers and waits for "go" on stdin. */
function spawnChild(name: string, out: string, model: string, killAtOp?: number): Child {
  const args = ["--conditions=source", "--import=tsx", childScript, name, out, model, ...(killAtOp === undefined ? [] : [String(killAtOp)])];
  const proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  let text = "";
  const c: Child = {
    proc,
    done: false,
    ready: new Promise((resolve, reject) => {
      proc.stdout!.on("data", (d: Buffer) => {
        text += d.toString();
        if (text.includes("ready\n")) resolve();
        if (text.includes("done\n")) c.done = true;
      });
      proc.on("exit", () => reject(new Error(`child ${name} exited before it was ready`)));
    }),
    exited: new Promise((resolve) => proc.on("exit", () => resolve())),
  };
  c.ready.catch(() => {});
  return c;
}

function snapshot(path: string): Record<string, string> {
  if (!statSync(path).isDirectory()) return { ".": readFileSync(path).toString("base64") };
  return Object.fromEntries(readdirSync(path).sort().map((f) => [f, readFileSync(join(path, f)).toString("base64")]));
}

function suite(names: string[]): void {
  let root = "";
  let model = "";
  before(function () {
    this.timeout(120000);
    root = mkdtempSync(join(tmpdir(), "llamats-libkill-"));
    return writerInputs(root).then((m) => void (model = m));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const name of names) {
    it(`${name}: OUT is complete or absent after each of ${KILLS} SIGKILLs of a bare library call; the next run removes stale temps`, async function () {
      this.timeout(600000);
      const w = LIB_WRITERS[name];
      const ref = join(root, `${name}-ref`);
      let ops = 0; // file-system operations of a complete write: the op kill points
      const { setAtomicFaultHook } = await tensor();
      const prev = setAtomicFaultHook(() => void ops++);
      const t0 = performance.now();
      try {
        await w.run(ref, model);
      } finally {
        setAtomicFaultHook(prev);
      }
      const writeMs = performance.now() - t0;
      const want = snapshot(ref);
      const work = join(root, name);
      mkdirSync(work);
      const out = join(work, "out");
      const rand = mulberry32(18);
      // Kill k: at an operation (k % 3 != 0) or after a random delay (k % 3 == 0); the last run completes.
      const plan = Array.from({ length: KILLS + 1 }, (_, k) => (k === KILLS || k % 3 === 0 ? undefined : 1 + Math.floor(rand() * ops)));
      // Two children start up ahead (start-up is most of a child's time; on two cores both load at once).
      const ahead: Child[] = [];
      const spawnNext = () => {
        const k = spawned++;
        if (k <= KILLS) ahead.push(spawnChild(name, out, model, plan[k]));
      };
      let spawned = 0;
      spawnNext();
      spawnNext();
      let midWrite = 0;
      let complete = 0;
      for (let k = 0; k <= KILLS; k++) {
        const c = ahead.shift()!;
        await c.ready;
        // A folder output must not exist yet (merge refuses one); a complete one goes, temps stay.
        if (w.kind === "dir" && existsSync(out)) rmSync(out, { recursive: true });
        const last = k === KILLS; // the last run completes: it must clear every stale temp
        spawnNext(); // starts up while this one writes
        c.proc.stdin!.write("go\n");
        if (last) {
          await c.exited;
          expect(c.done, "the last run completes").to.equal(true);
          break;
        }
        if (plan[k] === undefined) {
          // A child's first write runs cold (no JIT yet): up to several times the warm in-process time.
          await sleep(Math.floor(rand() * (8 * writeMs + 100)));
          c.proc.kill("SIGKILL");
        }
        await c.exited;
        expect(c.done, `kill ${k}: the child finished before its kill at operation ${plan[k]} of ${ops}`).to.equal(plan[k] === undefined ? c.done : false);
        const names = readdirSync(work);
        if (names.some(isTemp)) midWrite++;
        if (existsSync(out)) {
          complete++;
          expect(snapshot(out), `kill ${k}: OUT is not the complete output`).to.deep.equal(want);
        }
        for (const f of names) expect(f === "out" || isTemp(f), `kill ${k}: stray ${f}`).to.equal(true);
      }
      console.log(`      (${name}: ${midWrite} of ${KILLS} kills left a temp (mid-write), ${complete} found OUT complete; a complete write makes ${ops} operations, ${writeMs.toFixed(0)} ms warm)`);
      expect(midWrite, "kills that landed mid-write (left a temp)").to.be.at.least(Math.floor(KILLS / 3));
      expect(readdirSync(work), "stale temps left after the next complete run").to.deep.equal(["out"]);
      expect(snapshot(out)).to.deep.equal(want);
    });
  }
}

describe("library writers under SIGKILL at random points (issue 18)", () => {
  suite(Object.keys(LIB_WRITERS).filter((n) => !LIB_WRITERS[n].fixtures));
});

describeConformance("merge and vocab-merge (library calls) under SIGKILL at random points (issue 18)", WRITER_FIXTURES, () => {
  suite(Object.keys(LIB_WRITERS).filter((n) => LIB_WRITERS[n].fixtures));
});
