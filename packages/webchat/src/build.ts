// Builds the page into dist/public: esbuild bundles src/page/main.ts (browser ES2020, one
// file, no imports left), and the static index.html and style.css are copied beside it.
// Files are written to a temp name and renamed, so a server never reads half a file.

import { build } from "esbuild";
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { webchatAssetsDir } from "./index.js";

const srcDir = fileURLToPath(new URL("../src/", import.meta.url));

export async function buildWebchat(outDir: string = webchatAssetsDir): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(srcDir, "page", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020"],
    minify: true,
    sourcemap: false,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error("webchat: esbuild produced no output");
  writeFileSync(join(outDir, "app.js.tmp"), js.contents);
  renameSync(join(outDir, "app.js.tmp"), join(outDir, "app.js"));
  for (const f of ["index.html", "style.css"]) {
    copyFileSync(join(srcDir, "static", f), join(outDir, `${f}.tmp`));
    renameSync(join(outDir, `${f}.tmp`), join(outDir, f));
  }
}
