export * from "./perplexity.js";
export * from "./logprob-file.js";
export * from "./kl-divergence.js";
