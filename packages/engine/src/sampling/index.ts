export * from "./rng.js";
export * from "./steps.js";
export * from "./sampler.js";
