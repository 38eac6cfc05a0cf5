// Tests run straight from the TypeScript sources: tsx compiles on the fly and the
// "source" export condition points each @llamats/* import at src/index.ts.
module.exports = {
  "node-option": ["conditions=source", "import=tsx"],
  spec: ["packages/*/test/**/*.test.ts"],
  reporter: "./scripts/summary-reporter.cjs",
  timeout: 120000,
  "forbid-only": Boolean(process.env.CI),
};
