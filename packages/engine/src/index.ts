export * from "./sampling/index.js";
export * from "./templates.js";
export * from "./synth/index.js";
export * from "./stop.js";
export * from "./generate.js";
export * from "./backends.js";
export * from "./load.js";
export * from "./llm.js";
