// Conformance fixtures (../shared/fixtures) are resolved in one place.
// LLAMATS_FIXTURES overrides the default `<repo root>/../shared/fixtures`.
// When they are absent, conformance suites skip with one line; under CI=true a missing
// fixture fails the run instead, so CI can never pass by skipping.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (the folder holding turbo.json). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, "turbo.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error("llamats testkit: cannot find the repository root (turbo.json)");
}

export function fixturesDir(): string {
  const env = process.env.LLAMATS_FIXTURES;
  return env ? resolve(env) : resolve(repoRoot(), "..", "shared", "fixtures");
}

export function isCI(): boolean {
  return process.env.CI === "true" || process.env.CI === "1";
}

/** Absolute path of a fixture, e.g. fixturePath("tiny/base/config.json"). */
export function fixturePath(rel: string): string {
  return join(fixturesDir(), rel);
}

/** Whether every listed fixture exists. Under CI a missing one throws. */
export function haveFixtures(...rels: string[]): boolean {
  const missing = rels.filter((r) => !existsSync(fixturePath(r)));
  if (missing.length === 0) return true;
  if (isCI()) {
    throw new Error(`conformance fixtures missing under CI=true: ${missing.map(fixturePath).join(", ")}`);
  }
  return false;
}

const skipNotices = new Set<string>();

/** Whether conformance suites are switched off (`npm run test:unit`, LLAMATS_NO_CONFORMANCE=1). */
export function conformanceOff(): boolean {
  return process.env.LLAMATS_NO_CONFORMANCE === "1";
}

/**
 * describe() for a conformance suite that needs shared fixtures. When they are absent, or
 * conformance suites are switched off, it registers nothing but one pending test whose
 * title says why (one line in the report).
 */
export function describeConformance(title: string, fixtures: string[], body: (this: Mocha.Suite) => void): void {
  if (conformanceOff()) {
    describe(title, () => {
      it.skip("skipped: conformance suites off (npm run test:unit)", () => {});
    });
    return;
  }
  if (haveFixtures(...fixtures)) {
    describe(title, body);
    return;
  }
  const reason = `skipped: fixtures not found under ${fixturesDir()} (set LLAMATS_FIXTURES)`;
  if (!skipNotices.has(title)) skipNotices.add(title);
  describe(title, () => {
    it.skip(reason, () => {});
  });
}
