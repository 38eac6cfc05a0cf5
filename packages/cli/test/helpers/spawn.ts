// Run `llamats ARGS` as a user does: a child process from the TypeScript sources.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const bin = fileURLToPath(new URL("../../src/bin.ts", import.meta.url));
const nodeArgs = ["--conditions=source", "--import=tsx", bin];

export function llamats(args: string[], input?: string | Buffer, env?: NodeJS.ProcessEnv): { code: number | null; out: string; stdout: Buffer; err: string } {
  const r = spawnSync(process.execPath, [...nodeArgs, ...args], { input, timeout: 120000, env });
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString("utf8"), err: r.stderr.toString("utf8") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` every 5 ms until it returns a value (or fail after `ms`). */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(5)) {
    const v = probe();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Start `llamats ARGS` writing `dir/base`, wait for its worker's `base.tmp-<pid>`, freeze the
 * worker (SIGSTOP, so it cannot finish first), send `sig` to the process the user started,
 * wait for its notice, let the worker go on (and die); resolve to the exit code and stderr.
 */
export async function interrupted(args: string[], dir: string, base: string, sig: NodeJS.Signals): Promise<{ code: number | null; err: string }> {
  const p = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  p.stdout.resume();
  const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
  const esc = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const childPid = await waitFor(`${base}.tmp-<pid>`, 60000, () => {
    const m = readdirSync(dir).map((f) => new RegExp(`^${esc}\\.tmp-(\\d+)$`).exec(f)).find((x) => x);
    return m ? Number(m[1]) : undefined;
  });
  process.kill(childPid, "SIGSTOP");
  p.kill(sig);
  await waitFor("the supervisor's notice", 20000, () => (/stopping; partial output will be removed/.test(err) ? true : undefined));
  process.kill(childPid, "SIGCONT");
  return { code: await exited, err };
}
