// Issue 18 (writers under faults): `llamats quantize` and `convert` killed with SIGKILL at
// random points (the whole process group: the supervisor and its worker, as a power loss or
// the OOM killer would) leave OUT either complete (byte-identical to an uninterrupted run)
// or absent; the OUT.tmp-<pid> a killed run leaves is removed by the next run. And a disk
// that fills mid-write (a small tmpfs) leaves nothing behind and exits 2 with one line.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { writeSyntheticModel } from "@llamats/engine";
import { describeConformance, fixturePath, mulberry32 } from "@llamats/testkit";
import { bin } from "./helpers/spawn.js";

const nodeArgs = ["--conditions=source", "--import=tsx", bin];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const temps = (dir: string) => readdirSync(dir).filter((f) => /\.(tmp|stage)-\d+$/.test(f));

/**
 * Run llamats ARGS in its own process group; SIGKILL the group `afterMs` after OUT's temp
 * appears (or `afterMs` after the start when `fromStart`). Resolves when the group is gone;
 * true when the kill came before the run finished.
 */
async function runKilled(args: string[], dir: string, base: string, afterMs: number, fromStart: boolean): Promise<boolean> {
  const p = spawn(process.execPath, [...nodeArgs, ...args], { stdio: "ignore", detached: true });
  let done = false;
  const exited = new Promise<void>((r) => p.on("exit", () => ((done = true), r())));
  if (!fromStart) {
    const t0 = Date.now();
    while (!done && Date.now() - t0 < 60000 && !readdirSync(dir).some((f) => f.startsWith(`${base}.tmp-`) || f.startsWith(`${base}.stage-`))) await sleep(3);
  }
  await sleep(afterMs);
  const killed = !done;
  try {
    process.kill(-p.pid!, "SIGKILL");
  } catch { /* already gone */ }
  await exited;
  // The worker is in the same group; wait until no process of the group is left.
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(-p.pid!, 0);
      await sleep(10);
    } catch {
      break;
    }
  }
  return killed;
}

/** A file's bytes, or a folder's files' bytes by name (merge writes a folder). */
function snapshot(path: string): Record<string, string> {
  if (!statSync(path).isDirectory()) return { ".": readFileSync(path).toString("base64") };
  return Object.fromEntries(readdirSync(path).sort().map((f) => [f, readFileSync(join(path, f)).toString("base64")]));
}

interface KillCase {
  what: string; out: string; args: (out: string) => string[]; kills: number;
  /** Kills that must land while OUT's temp exists (default a quarter of them). */
  minMidWrite?: number;
  /** How long after OUT's temp appears to kill, at most (default a third of a full run). */
  tempWindowMs?: number;
  /** The command refuses an existing OUT (merge): remove a complete OUT (never the temps) before each run. */
  refusesExisting?: boolean;
}

/**
 * Run `c` once uninterrupted (the reference), then `c.kills` times SIGKILLed at seeded random
 * points into the same OUT, checking OUT after each; then once more to completion.
 */
async function killAtRandom(dir: string, c: KillCase): Promise<void> {
  const work = join(dir, c.out.replace(/\./g, "-"));
  mkdirSync(work);
  const ref = join(dir, `ref-${c.out}`);
  const t0 = Date.now();
  const full = llamats(c.args(ref));
  const fullMs = Date.now() - t0;
  expect(full.code, full.err).to.equal(0);
  const want = snapshot(ref);
  const out = join(work, c.out);
  const rand = mulberry32(18); // the kill points are random but reproducible
  let midWrite = 0;
  for (let k = 0; k < c.kills; k++) {
    // A few kills anywhere in the run (startup included), the rest while OUT's temp exists.
    const fromStart = k % 4 === 0;
    if (c.refusesExisting) rmSync(out, { recursive: true, force: true });
    const delayMs = Math.floor(rand() * (fromStart ? fullMs : c.tempWindowMs ?? fullMs / 3));
    const killed = await runKilled(c.args(out), work, c.out, delayMs, fromStart);
    if (killed && !fromStart) midWrite++;
    if (existsSync(out)) expect(snapshot(out), `kill ${k}: OUT is not the complete output`).to.deep.equal(want);
    for (const f of readdirSync(work)) expect(f === c.out || /\.(tmp|stage)-\d+$/.test(f), `kill ${k}: stray ${f}`).to.equal(true);
  }
  console.log(`      (${c.what}: ${midWrite} of ${c.kills} kills landed while OUT's temp existed; a full run takes ${fullMs} ms)`);
  expect(midWrite, "kills that landed while the temp existed").to.be.at.least(c.minMidWrite ?? Math.floor(c.kills / 4));
  if (c.refusesExisting) rmSync(out, { recursive: true, force: true });
  const again = llamats(c.args(out));
  expect(again.code, again.err).to.equal(0);
  expect(temps(work), "stale temps left after the next run").to.deep.equal([]);
  expect(snapshot(out)).to.deep.equal(want);
}

function llamats(args: string[]): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], { timeout: 120000 });
  return { code: r.status, err: r.stderr.toString() };
}

describe("writers under SIGKILL at random points and a full disk (issue 18)", function () {
  this.timeout(600000);
  let dir = "";
  let model = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-kill-"));
    model = join(dir, "tiny-f32.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "f32", seed: 7 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: KillCase[] = [
    // The temp of these small outputs exists for ~0.1-0.3 s of a ~2.5 s run (most of it is
    // start-up), so the mid-write kills come within 120 ms of the temp appearing: on a fast
    // machine a wider window lets too few of them land before the rename.
    { what: "quantize q8_0", out: "q.gguf", args: (out) => ["quantize", model, out, "q8_0"], kills: 12, tempWindowMs: 120 },
    { what: "convert --to safetensors", out: "m.safetensors", args: (out) => ["convert", model, out, "--to", "safetensors", "--dtype", "f16"], kills: 10, tempWindowMs: 120 },
  ];
  for (const c of cases) {
    it(`${c.what}: OUT is complete or absent after each of ${c.kills} SIGKILLs; the next run removes stale temps`, () => killAtRandom(dir, c));
  }

  it("a disk that fills mid-write: exit 2, one line naming OUT, nothing left behind", function () {
    const mnt = join(dir, "small");
    mkdirSync(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    if (m.status !== 0) {
      console.log(`      (skipped: cannot mount a 1 MiB tmpfs here: ${m.stderr?.toString().trim() || m.error?.message})`);
      this.skip();
    }
    try {
      const out = join(mnt, "q.gguf");
      const r = llamats(["quantize", model, out, "q8_0"]); // ~4.5 MiB of output into 1 MiB
      expect(r.code, r.err).to.equal(2);
      // Progress lines come first (stderr); the error is the one last line.
      const errors = r.err.split(/[\r\n]+/).filter((l) => l.startsWith("llamats:"));
      expect(errors, r.err).to.have.length(1);
      expect(errors[0]).to.match(/^llamats: (error: )?cannot write .*q\.gguf.*no space left/);
      expect(r.err.endsWith(`${errors[0]}\n`), r.err).to.equal(true);
      expect(readdirSync(mnt)).to.deep.equal([]);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });
});

describeConformance("cli: merge and vocab-merge under SIGKILL at random points (issue 18)", ["tiny/base/config.json", "tiny/base/tokenizer.model", "tiny/lora-llama/adapter_model.bin"], () => {
  let dir = "";
  before(() => (dir = mkdtempSync(join(tmpdir(), "llamats-kill-merge-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: KillCase[] = [
    {
      // The merge computes first and holds its OUT.tmp-<pid>/ folder for ~40 ms at the end.
      what: "merge --output-type pth (a folder)", out: "merged", kills: 8, tempWindowMs: 40, refusesExisting: true,
      args: (out) => ["merge", "--base", fixturePath("tiny/base"), "--lora", fixturePath("tiny/lora-llama"), "--output-type", "pth", "--out", out],
    },
    {
      what: "vocab-merge", out: "v.model", kills: 8, tempWindowMs: 40,
      args: (out) => ["vocab-merge", "--base", fixturePath("tiny/base/tokenizer.model"), "--add", fixturePath("tiny/lora-llama/tokenizer.model"), "-o", out],
    },
  ];
  for (const c of cases) {
    it(`${c.what}: OUT is complete or absent after each of ${c.kills} SIGKILLs; the next run removes stale temps`, function () {
      this.timeout(600000);
      return killAtRandom(dir, c);
    });
  }
});
