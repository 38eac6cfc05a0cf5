// Ctrl-C / SIGTERM for commands whose library call is one long synchronous job (merge,
// quantize, convert, synth): a
// signal handler would only run once the job had finished, and without one Node dies at
// once, leaving the job's `OUT.tmp-<pid>` behind. So such a command re-runs itself in a
// child process (same node flags, same arguments, LLAMATS_SUPERVISED=1) and supervises it:
// the parent's event loop stays free, stops the child on SIGINT / SIGTERM, waits for it to go,
// removes the child's temp paths and exits 128 + the signal's number (130, 143).

import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { tempPathsFor } from "@llamats/tensor";
import { ExitStatus } from "./exit.js";

const CHILD_ENV = "LLAMATS_SUPERVISED";

/** Whether this process is the supervised child (it does the work itself). */
export function isSupervisedChild(): boolean {
  return process.env[CHILD_ENV] === "1";
}

/** The llamats entry point next to this module (bin.ts from sources, bin.js when built). */
function binPath(): string {
  return fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./bin.ts" : "./bin.js", import.meta.url));
}

/**
 * Run `llamats ARGS` in a child process with inherited stdio; resolve to its exit status, or
 * to 128 + N when signal N ended it (after removing tempPathsOf(child pid)).
 */
export async function runSupervised(args: readonly string[], tempPathsOf: (childPid: number) => readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, binPath(), ...args], {
    stdio: "inherit", env: { ...process.env, [CHILD_ENV]: "1" },
  });
  let received: NodeJS.Signals | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    if (received !== undefined) return; // already stopping
    received = sig;
    // SIGTERM whatever came: a child started from a background shell inherits SIGINT ignored
    // (a terminal's Ctrl-C reaches the child as well where it is not).
    child.kill("SIGTERM");
    process.stderr.write(`\nllamats: ${sig}: stopping; partial output will be removed\n`);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    if (signal === null && (received === undefined || code === 0)) return code ?? 1; // finished (before the signal)
    const sig = received ?? signal!;
    if (child.pid !== undefined) for (const p of tempPathsOf(child.pid)) rmSync(p, { recursive: true, force: true });
    return 128 + (constants.signals[sig] ?? 0);
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}

/**
 * For a command that writes `out` (a file or folder, through @llamats/tensor's atomic
 * writers): in the process the user started, re-run the command supervised and return true
 * (it is done; a non-zero status is thrown as ExitStatus); in the supervised child return
 * false, and the caller does the work.
 */
export async function supervisedWrite(cmd: Command, out: string): Promise<boolean> {
  if (isSupervisedChild()) return false;
  let root = cmd;
  while (root.parent) root = root.parent;
  const args = (root as unknown as { rawArgs: string[] }).rawArgs; // as given to main()
  const status = await runSupervised(args, (pid) => tempPathsFor(out, pid));
  if (status !== 0) throw new ExitStatus(status);
  return true;
}
