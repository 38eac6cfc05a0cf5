#!/usr/bin/env node
// `npm test`: every package's mocha suite in one run (see .mocharc.cjs).
// `npm test -- packages/quant packages/tensor/test/f16.test.ts` runs only those packages /
// files; other arguments (e.g. --grep X) pass through to mocha.
// `--no-conformance` (`npm run test:unit`) leaves out every conformance suite (those that read
// ../shared/fixtures through testkit's describeConformance): each shows as one skipped line.
// It is ours, not mocha's (mocha would ignore it), and travels to the suites as
// LLAMATS_NO_CONFORMANCE=1.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mochaBin = require.resolve("mocha/bin/mocha.js");
const specs = [];
const rest = [];
let noConformance = false;
for (const a of process.argv.slice(2)) {
  if (a === "--no-conformance") noConformance = true;
  else if (!a.startsWith("-") && existsSync(a)) {
    specs.push(statSync(a).isDirectory() ? `${a.replace(/\/$/, "")}/test/**/*.test.ts` : a);
  } else rest.push(a);
}
const env = { ...process.env };
if (specs.length) env.LLAMATS_SPEC = specs.join(",");
if (noConformance) env.LLAMATS_NO_CONFORMANCE = "1";
const r = spawnSync(process.execPath, [mochaBin, ...rest], { stdio: "inherit", env });
process.exit(r.status ?? 1);
