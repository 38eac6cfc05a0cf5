// The llamats command line: a thin layer over the library packages. Each command lives in
// its own module under commands/ and is registered in commands/index.ts.
// Conventions: data on stdout, logs and progress on stderr; exit 0 on success, 2 on bad
// input (a LlamatsError: one line, no stack), 128 + N after signal N (merge), 1 on anything
// else. A reader closing stdout (EPIPE) is not an error: output just stops.

import { Command } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { registerCommands } from "./commands/index.js";
import { ExitStatus } from "./exit.js";
import { guardStdout } from "./stdout.js";

export async function main(argv: string[]): Promise<number> {
  guardStdout(); // a closed stdout pipe (`| head`) ends output quietly instead of crashing
  const program = new Command();
  program
    .name("llamats")
    .description("Pure-TypeScript engine for LLaMA-family models (Chinese LLaMA / Alpaca first).")
    .version("0.1.0")
    // Usage errors too are one line on stderr (exit 2); `llamats CMD --help` shows the usage.
    .configureOutput({ outputError: (str, write) => write(`llamats: ${str.replace(/\s*\n\s*/g, " ").trim()}\n`) })
    .exitOverride();
  registerCommands(program);
  if (argv.length === 0) {
    // No command: the usage on stderr (nothing was asked for, so nothing on stdout), exit 1.
    process.stderr.write(program.helpInformation());
    return 1;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof ExitStatus) return err.status;
  const e = err as { code?: string; exitCode?: number };
  if (typeof e?.code === "string" && e.code.startsWith("commander.")) {
    // --help and --version exit 0; usage errors (already printed by commander) exit 2.
    return e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : 2;
  }
  if (err instanceof LlamatsError) {
    process.stderr.write(`llamats: ${err.message}\n`);
    return 2;
  }
  const sys = err as NodeJS.ErrnoException;
  if (typeof sys?.code === "string" && /^E[A-Z]+$/.test(sys.code) && typeof sys.path === "string") {
    // A file the system refused (missing, not readable, not writable): bad input, one line.
    process.stderr.write(`llamats: ${sys.path}: ${sys.message.replace(/^[A-Z]+: /, "")}\n`);
    return 2;
  }
  process.stderr.write(`llamats: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
