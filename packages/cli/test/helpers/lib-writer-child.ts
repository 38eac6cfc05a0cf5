// Child process for the library kill-at-random test: `node --conditions=source --import=tsx
// lib-writer-child.ts WRITER OUT MODEL [KILL_AT_OP]` prints "ready", waits for a line on
// stdin (so the next child can start up while this one writes, and a parent's kill delay
// counts from the write), then runs the bare library writer (no CLI, no supervisor) and
// prints "done". With KILL_AT_OP = N the process SIGKILLs itself just before the Nth
// file-system operation of the atomic writer (after open, between two writes, before fsync
// or the rename): a random point of the write itself, hit exactly however short the write.
import { once } from "node:events";
import { setAtomicFaultHook } from "@llamats/tensor";
import { LIB_WRITERS } from "./lib-writers.js";

const [name, out, model, killAt] = process.argv.slice(2);
const w = LIB_WRITERS[name];
if (!w) throw new Error(`unknown writer ${name}`);
if (killAt !== undefined) {
  let n = 0;
  setAtomicFaultHook(() => {
    if (++n === Number(killAt)) process.kill(process.pid, "SIGKILL");
  });
}
process.stdout.write("ready\n");
await once(process.stdin, "data");
await w.run(out, model);
process.stdout.write("done\n");
process.exit(0);
