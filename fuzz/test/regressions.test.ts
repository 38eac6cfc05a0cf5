// The fuzz targets as a test: every target's writer-built seeds parse, every regression
// file under fixtures/fuzz/<target>/ (inputs that once broke a reader) now fails with a
// LlamatsError or parses, and a short deterministic mutation run per target finds nothing.
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check } from "../run.js";
import { Mutator } from "../mutate.js";
import { scratchDir, targets } from "../targets.js";

const fixtures = join(fileURLToPath(new URL("../../fixtures/fuzz", import.meta.url)));

describe("fuzz targets", () => {
  after(async () => {
    rmSync(scratchDir, { recursive: true, force: true });
    for (const t of targets) await t.close?.();
  });
  for (const t of targets) {
    describe(t.name, () => {
      it("the writer-built seeds are read without error", async () => {
        await t.init?.();
        const seeds = t.seeds();
        expect(seeds.length).to.be.above(0);
        for (const s of seeds) await t.run(s); // a seed is valid: any error fails the test
      });
      it("regression files and 300 mutations: only LlamatsError, bounded time", async () => {
        const dir = join(fixtures, t.name);
        const inputs: Uint8Array[] = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".bin")).map((f) => new Uint8Array(readFileSync(join(dir, f)))) : [];
        const seeds = t.seeds();
        const m = new Mutator(18);
        for (let i = 0; i < 300; i++) {
          const a = seeds[m.int(seeds.length)];
          inputs.push((t.mutate && m.int(2) ? t.mutate(a, m) : undefined) ?? m.mutate(a, seeds[m.int(seeds.length)]));
        }
        for (const input of inputs) expect(await check(t, input, Math.max(5000, t.slowMs ?? 0))).to.equal(undefined);
      });
    });
  }
});
