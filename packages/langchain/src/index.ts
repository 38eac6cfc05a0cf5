export * from "./options.js";
export * from "./llm.js";
export * from "./chat.js";
export * from "./embeddings.js";
export * from "./seed-prompts.js";
