#!/usr/bin/env node
// Pack the llamats library packages (engine and everything it imports) as npm tarballs, for
// use in a project outside this checkout: `npm install DEST/*.tgz` there. Run after a build
// (`npm ci` or `npm run build`: the tarballs hold each package's dist/).
//   node scripts/pack-libs.mjs [DEST]     (default DEST: ./packs)
// Prints the tarball paths, one per line.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The published library: @llamats/engine and its @llamats dependencies, in dependency order. */
export const LIBRARY = ["tensor", "quant", "kernels", "tokenizer", "formats", "model", "lora", "workers", "engine"];

export function packLibs(dest) {
  mkdirSync(dest, { recursive: true });
  return LIBRARY.map((name) => {
    const dir = join(root, "packages", name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (pkg.private) throw new Error(`${pkg.name} is private: it cannot be installed from a tarball outside the workspace`);
    if (!existsSync(join(dir, "dist", "index.js"))) throw new Error(`${pkg.name}: no dist/index.js (build first: npm run build)`);
    const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dest], { cwd: dir, encoding: "utf8" }).trim().split("\n").pop();
    return join(dest, out);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of packLibs(resolve(process.argv[2] ?? "packs"))) console.log(f);
}
