export * from "./fixtures.js";
export * from "./random.js";
export * from "./select.js";
export * from "./serve.js";
