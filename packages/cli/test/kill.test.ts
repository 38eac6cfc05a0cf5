// Issue 18 (writers under faults): `llamats quantize` and `convert` killed with SIGKILL at
// random points (the whole process group: the supervisor and its worker, as a power loss or
// the OOM killer would) leave OUT either complete (byte-identical to an uninterrupted run)
// or absent; the OUT.tmp-<pid> a killed run leaves is removed by the next run. And a disk
// that fills mid-write (a small tmpfs) leaves nothing behind and exits 2 with one line.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { writeSyntheticModel } from "@llamats/engine";
import { bin } from "./helpers/spawn.js";

const nodeArgs = ["--conditions=source", "--import=tsx", bin];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const temps = (dir: string) => readdirSync(dir).filter((f) => /\.(tmp|stage)-\d+$/.test(f));

/** mulberry32: the kill points are random but reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

  const cases: Array<{ what: string; out: string; args: (out: string) => string[]; kills: number }> = [
    { what: "quantize q8_0", out: "q.gguf", args: (out) => ["quantize", model, out, "q8_0"], kills: 12 },
    { what: "convert --to safetensors", out: "m.safetensors", args: (out) => ["convert", model, out, "--to", "safetensors", "--dtype", "f16"], kills: 10 },
  ];
  for (const c of cases) {
    it(`${c.what}: OUT is complete or absent after each of ${c.kills} SIGKILLs; the next run removes stale temps`, async () => {
      const work = join(dir, c.out.replace(/\./g, "-"));
      mkdirSync(work);
      const ref = join(dir, `ref-${c.out}`);
      const t0 = Date.now();
      const full = llamats(c.args(ref));
      const fullMs = Date.now() - t0;
      expect(full.code, full.err).to.equal(0);
      const want = readFileSync(ref);
      const out = join(work, c.out);
      const rand = rng(18);
      let midWrite = 0;
      for (let k = 0; k < c.kills; k++) {
        // A few kills anywhere in the run (startup included), the rest while OUT's temp exists.
        const fromStart = k % 4 === 0;
        const killed = await runKilled(c.args(out), work, c.out, Math.floor(rand() * (fromStart ? fullMs : fullMs / 3)), fromStart);
        if (killed && !fromStart) midWrite++;
        if (existsSync(out)) expect(readFileSync(out).equals(want), `kill ${k}: OUT is not the complete output`).to.equal(true);
        for (const f of readdirSync(work)) expect(f === c.out || /\.(tmp|stage)-\d+$/.test(f), `kill ${k}: stray ${f}`).to.equal(true);
      }
      expect(midWrite, "kills that landed while the temp file existed").to.be.at.least(Math.floor(c.kills / 3));
      const again = llamats(c.args(out));
      expect(again.code, again.err).to.equal(0);
      expect(temps(work), "stale temps left after the next run").to.deep.equal([]);
      expect(readFileSync(out).equals(want)).to.equal(true);
    });
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
