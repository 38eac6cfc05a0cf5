// `npm run bench [-- --suite NAME[,NAME]] [-- --list]`: runs benchmark suites and prints one
// JSON document on stdout ({machine, results: {suite: result}}); progress goes to stderr.
// A suite is a file `src/<name>.bench.ts` exporting `run(args: string[]): Promise<unknown>`;
// a suite that also exports `heavy = true` (e.g. 7B side-by-side runs) runs only when named.

import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { machineInfo } from "./harness.js";

interface Suite {
  run(args: string[]): Promise<unknown>;
  heavy?: boolean;
}

async function main(argv: string[]): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith(".ts") ? ".bench.ts" : ".bench.js";
  const all = readdirSync(here).filter((f) => f.endsWith(ext)).map((f) => f.slice(0, -ext.length)).sort();
  if (argv.includes("--list")) {
    process.stdout.write(all.join("\n") + "\n");
    return;
  }
  const i = argv.indexOf("--suite");
  const wanted = i >= 0 ? argv[i + 1].split(",") : undefined;
  const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  for (const w of wanted ?? []) if (!all.includes(w)) throw new Error(`no benchmark suite "${w}" (have: ${all.join(", ")})`);
  const results: Record<string, unknown> = {};
  for (const name of wanted ?? all) {
    const suite = (await import(pathToFileURL(join(here, name + ext)).href)) as Suite;
    if (typeof suite.run !== "function") continue;
    if (suite.heavy && !wanted) {
      process.stderr.write(`[bench] ${name}: heavy, skipped (run with --suite ${name})\n`);
      continue;
    }
    process.stderr.write(`[bench] ${name}\n`);
    try {
      results[name] = await suite.run(rest);
    } catch (err) {
      results[name] = { error: err instanceof Error ? err.message : String(err) };
      process.stderr.write(`[bench] ${name} failed: ${String(err)}\n`);
    }
  }
  process.stdout.write(JSON.stringify({ machine: machineInfo(), results }, null, 2) + "\n");
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
