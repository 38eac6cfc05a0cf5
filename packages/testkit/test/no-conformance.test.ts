// `npm run test:unit` (scripts/test.mjs --no-conformance) really leaves the conformance
// suites out, and `npm test` runs them: the probe suite needs no fixture, so only the flag
// decides. (mocha itself ignores unknown flags: the runner must handle this one.)
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "@llamats/testkit";

function runProbe(...flags: string[]): string {
  const root = repoRoot();
  const r = spawnSync(process.execPath, [join(root, "scripts", "test.mjs"), ...flags, "packages/testkit/test/probe/conformance-probe.ts"], {
    cwd: root, encoding: "utf8", timeout: 60000, env: { ...process.env, CI: "" },
  });
  expect(r.status, r.stderr).to.equal(0);
  return r.stdout;
}

describe("test runner: --no-conformance", function () {
  this.timeout(120000);
  it("npm test runs a conformance suite", () => {
    expect(runProbe()).to.match(/\n1 passed, 0 failed, 0 skipped\n/);
  });
  it("npm run test:unit skips it with one line", () => {
    const out = runProbe("--no-conformance");
    expect(out).to.match(/\n0 passed, 0 failed, 1 skipped\n/);
    expect(out).to.contain("conformance suites off");
  });
  it("package.json's test:unit passes the flag", async () => {
    const pkg = (await import(join(repoRoot(), "package.json"), { with: { type: "json" } })).default as { scripts: Record<string, string> };
    expect(pkg.scripts["test:unit"]).to.equal("node scripts/test.mjs --no-conformance");
  });
});
