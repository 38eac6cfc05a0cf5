// Tests run straight from the TypeScript sources: tsx compiles on the fly and the
// "source" export condition points each @llamats/* import at src/index.ts.
// LLAMATS_SPEC (set by scripts/test.mjs) narrows the run to some packages or files.
const spec = process.env.LLAMATS_SPEC ? process.env.LLAMATS_SPEC.split(",") : ["packages/*/test/**/*.test.ts", "fuzz/test/**/*.test.ts", "benchmarks/test/**/*.test.ts"];
module.exports = {
  "node-option": ["conditions=source", "import=tsx"],
  spec,
  reporter: "./scripts/summary-reporter.cjs",
  timeout: 120000,
  "forbid-only": Boolean(process.env.CI),
};
