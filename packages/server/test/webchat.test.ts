// `/` serves the web chat page (@llamats/webchat) from memory, with its CSP; a static folder
// replaces it; /v1/* stays the API. The page itself is tested in Chromium in packages/webchat.
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWebchat } from "@llamats/webchat/build";
import { webchatCsp } from "@llamats/webchat";
import { cleanup, serve, tinyModel } from "./helpers.js";

describe("server: the web chat page at /", function () {
  this.timeout(120_000);
  after(cleanup);

  it("serves index.html, app.js and style.css with the page's Content-Security-Policy", async () => {
    await buildWebchat();
    const model = await tinyModel();
    const s = await serve(model);
    try {
      const page = await fetch(`${s.url}/`);
      expect(page.status).to.equal(200);
      expect(page.headers.get("content-type")).to.equal("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).to.equal(webchatCsp);
      expect(await page.text()).to.contain('<script type="module" src="app.js">');
      for (const [path, type] of [["/app.js", "text/javascript; charset=utf-8"], ["/style.css", "text/css; charset=utf-8"]]) {
        const r = await fetch(`${s.url}${path}`);
        expect(r.status, path).to.equal(200);
        expect(r.headers.get("content-type"), path).to.equal(type);
      }
      expect((await fetch(`${s.url}/nothing-here.js`)).status).to.equal(404);
      expect((await fetch(`${s.url}/v1/models`)).status).to.equal(200);
    } finally {
      await s.stop();
      await model.dispose();
    }
  });

  it("a staticDir replaces the page", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamats-static-"));
    writeFileSync(join(dir, "index.html"), "<p>mine</p>");
    const model = await tinyModel();
    const s = await serve(model, { staticDir: dir });
    try {
      const r = await fetch(`${s.url}/`);
      expect(await r.text()).to.equal("<p>mine</p>");
      expect(r.headers.get("content-security-policy")).to.equal(null);
    } finally {
      await s.stop();
      await model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
