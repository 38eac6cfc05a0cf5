export * from "./vocab.js";
export * from "./shapes.js";
export * from "./weights.js";
export * from "./synth.js";
