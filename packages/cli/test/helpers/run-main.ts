// Run the CLI in-process (main(argv)), capturing what it writes to stdout and stderr. The
// commands that write files (quantize, convert, synth, merge) normally re-run themselves in a
// supervised child for Ctrl-C cleanup (src/supervise.ts); in-process runs do the work here,
// as that child would, so their output can be captured (signals are tested by spawning).
import { main } from "../../src/main.js";

export async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = process.stdout.write.bind(process.stdout);
  const se = process.stderr.write.bind(process.stderr);
  const supervised = process.env.LLAMATS_SUPERVISED;
  process.env.LLAMATS_SUPERVISED = "1";
  process.stdout.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
    if (supervised === undefined) delete process.env.LLAMATS_SUPERVISED;
    else process.env.LLAMATS_SUPERVISED = supervised;
  }
}
