export * from "./sampling/index.js";
export * from "./templates.js";
