#!/usr/bin/env node
// `npm test`: every package's mocha suite in one run (see .mocharc.cjs).
// Extra arguments pass through to mocha, e.g. `npm test -- packages/tensor/test/f16.test.ts`.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mochaBin = require.resolve("mocha/bin/mocha.js");
const args = process.argv.slice(2);
const r = spawnSync(process.execPath, [mochaBin, ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);
