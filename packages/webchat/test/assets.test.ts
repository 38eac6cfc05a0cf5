import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWebchat } from "../src/build.js";
import { loadWebchatAssets, webchatRoutes } from "../src/index.js";

describe("webchat build and assets", () => {
  it("builds one self-contained bundle and serves index.html at /", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-webchat-build-"));
    try {
      await buildWebchat(dir);
      const assets = loadWebchatAssets(dir);
      expect(assets.map((a) => a.urlPath)).to.deep.equal(webchatRoutes.map((r) => r.urlPath));
      const html = assets[0].body.toString("utf8");
      expect(html).to.contain('<script type="module" src="app.js">');
      const js = readFileSync(join(dir, "app.js"), "utf8");
      // Bundled (no import statements left) and offline (no http(s) URL to fetch from).
      expect(js).not.to.match(/\bimport\s*[{("']/);
      expect(`${js}${html}${readFileSync(join(dir, "style.css"), "utf8")}`).not.to.match(/https?:\/\//);
      expect(js).not.to.contain("innerHTML");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a missing build is a clear error", () => {
    expect(() => loadWebchatAssets("/nonexistent/webchat")).to.throw(/index\.html is missing; build the page with `npm run build`/);
  });
});
