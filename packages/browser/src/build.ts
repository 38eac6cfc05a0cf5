// Builds dist/public: esbuild bundles the library (src/index.ts -> llamats.js), the demo
// page (src/page/main.ts -> app.js), the worker it runs the model in (src/model-worker.ts ->
// model-worker.js), the benchmark page (src/page/bench.ts -> bench.js), a pool thread (@llamats/tensor's pool/web-worker.ts ->
// web-worker.js) and the inference task the pool threads load (@llamats/workers' task.ts ->
// task.js) as browser ES modules from the packages' TypeScript sources; the static files are
// copied beside them. The pool's threads module (worker_threads) is replaced by its Web
// Workers twin (threads-web.ts), which finds web-worker.js next to the bundle; the pool
// finds task.js the same way (taskModuleUrl), so both must sit beside llamats.js/app.js. The browser path must not touch
// node: modules: they are left external, every @llamats module is marked side-effect free so
// modules the path does not use (files, worker_threads pools) are dropped, and the build fails
// if any node: import survives. Files are written to a temp name and renamed.

import { build, type Plugin } from "esbuild";
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { browserAssetsDir } from "./assets.js";

const srcDir = fileURLToPath(new URL("../src/", import.meta.url));
const poolDir = fileURLToPath(new URL("../../tensor/src/pool/", import.meta.url));
const workersSrcDir = fileURLToPath(new URL("../../workers/src/", import.meta.url));

const browserPath: Plugin = {
  name: "llamats-browser-path",
  setup(b) {
    // The pool's threads: Web Workers instead of worker_threads (same interface, threads.ts).
    b.onResolve({ filter: /^\.\/threads-node\.js$/ }, (args) => (args.importer.startsWith(poolDir) ? { path: join(poolDir, "threads-web.ts"), sideEffects: false } : undefined));
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, external: true }));
    // The engine's optional backends (worker_threads, GPU) are dynamic import()s; bundling them would
    // wrap every module it shares with the browser path in lazy initialisers (no tree shaking).
    b.onResolve({ filter: /^@llamats\// }, (args) => (args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined));
    // Our packages have no import-time side effects worth keeping in a page: mark every module
    // they resolve to side-effect free, so an unused re-export drops the whole module.
    b.onResolve({ filter: /^(@llamats\/|\.\.?\/)/ }, async (args) => {
      if (args.pluginData === "inner" || (args.path.startsWith(".") && !args.importer.includes("/packages/"))) return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: "inner" });
      return r.errors.length ? { errors: r.errors } : { path: r.path, sideEffects: false };
    });
  },
};

/** Bundle one entry; throws when the bundle still imports a node: module. */
export async function bundle(entry: string): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    conditions: ["source"],
    minify: true,
    sourcemap: false,
    legalComments: "none",
    treeShaking: true,
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [browserPath],
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error(`browser: esbuild produced no output for ${entry}`);
  const nodeImports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.path.startsWith("node:")).map((i) => i.path));
  if (nodeImports.length) throw new Error(`browser: ${entry} still imports ${[...new Set(nodeImports)].join(", ")}`);
  return js.contents;
}

function writeAtomic(path: string, bytes: Uint8Array | string): void {
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

export async function buildBrowser(outDir: string = browserAssetsDir): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  writeAtomic(join(outDir, "llamats.js"), await bundle(join(srcDir, "index.ts")));
  writeAtomic(join(outDir, "app.js"), await bundle(join(srcDir, "page", "main.ts")));
  writeAtomic(join(outDir, "bench.js"), await bundle(join(srcDir, "page", "bench.ts")));
  writeAtomic(join(outDir, "model-worker.js"), await bundle(join(srcDir, "model-worker.ts")));
  writeAtomic(join(outDir, "web-worker.js"), await bundle(join(poolDir, "web-worker.ts")));
  writeAtomic(join(outDir, "task.js"), await bundle(join(workersSrcDir, "task.ts")));
  for (const f of ["index.html", "bench.html", "style.css"]) {
    copyFileSync(join(srcDir, "static", f), join(outDir, `${f}.tmp`));
    renameSync(join(outDir, `${f}.tmp`), join(outDir, f));
  }
}
