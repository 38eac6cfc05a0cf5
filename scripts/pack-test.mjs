#!/usr/bin/env node
// CI check of README's "Use as a library in your own project": pack the library packages
// (scripts/pack-libs.mjs), install the tarballs into an empty temp project with plain npm (no
// workspace, no symlinks, no registry: every @llamats dependency is among the tarballs), and
// run a small program there with plain node (dist/ only, no tsx): synthesise the tiny model,
// load it on the auto backend (WASM / worker threads from the tarballs), generate greedily
// and tokenize, and check the result. Exit 0 and one summary line on success.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packLibs } from "./pack-libs.mjs";

const dir = mkdtempSync(join(tmpdir(), "llamats-pack-test-"));
const t0 = Date.now();
try {
  const tarballs = packLibs(join(dir, "packs"));
  const app = join(dir, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "my-app", private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", ...tarballs], { cwd: app, stdio: ["ignore", "ignore", "inherit"] });
  writeFileSync(join(app, "main.js"), `
import { loadModel, writeSyntheticModel } from "@llamats/engine";
writeSyntheticModel("tiny.gguf", { shape: "tiny", type: "q8_0", seed: 0 });
const m = await loadModel("tiny.gguf", { backend: "auto", threads: 2 });
let text = "";
for await (const piece of m.generate("Once upon a time", { maxTokens: 8, temperature: 0 })) text += piece;
const ids = m.tokenize("你好", { bos: true });
console.log(JSON.stringify({ backend: m.backend.name, generated: m.lastStats.generatedTokens, text, ids }));
m.dispose();
`);
  const out = JSON.parse(execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" }).trim().split("\n").pop());
  if (!(out.generated > 0) || typeof out.text !== "string" || out.ids[0] !== 1 || out.ids.length < 2) {
    throw new Error(`unexpected result from the installed packages: ${JSON.stringify(out)}`);
  }
  console.log(`pack-test: ${tarballs.length} tarballs installed into a fresh project; generated ${out.generated} tokens on ${out.backend} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
