// The built chat page, for the server to serve at `/`. Every file lives in dist/public (made
// by this package's build: esbuild bundles src/page, src/static is copied); nothing is
// fetched from the network, so the page works offline.

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Absolute path of the built page (index.html, app.js, style.css). The same from the
 * TypeScript sources and from dist: both sit one folder below the package root.
 */
export const webchatAssetsDir: string = fileURLToPath(new URL("../dist/public/", import.meta.url));

/** URL path -> file in the assets folder -> content type. "/" is the page itself. */
export const webchatRoutes: readonly { urlPath: string; file: string; contentType: string }[] = [
  { urlPath: "/", file: "index.html", contentType: "text/html; charset=utf-8" },
  { urlPath: "/app.js", file: "app.js", contentType: "text/javascript; charset=utf-8" },
  { urlPath: "/style.css", file: "style.css", contentType: "text/css; charset=utf-8" },
];

/**
 * Content-Security-Policy for the page: only its own script, style and API. A second line of
 * defence behind the renderer, which never turns model text into HTML.
 */
export const webchatCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface WebchatAsset {
  urlPath: string;
  contentType: string;
  body: Buffer;
}

/** The page's files, read once; throws an Error saying how to build them when they are missing. */
export function loadWebchatAssets(dir: string = webchatAssetsDir): WebchatAsset[] {
  return webchatRoutes.map((r) => {
    const path = `${dir.replace(/\/$/, "")}/${r.file}`;
    if (!existsSync(path)) throw new Error(`webchat: ${path} is missing; build the page with \`npm run build\``);
    return { urlPath: r.urlPath, contentType: r.contentType, body: readFileSync(path) };
  });
}
