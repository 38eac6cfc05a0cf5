// @llamats/server: an OpenAI-compatible HTTP API over one loaded model (docs/SERVER.md).
// The only package that opens sockets; a thin layer over @llamats/engine.
export { startServer, type ServerHandle } from "./serve.js";
export { buildApp } from "./app.js";
export { ServerCore } from "./core.js";
export { DEFAULTS as SERVER_DEFAULTS, TEMPLATE_NAMES, type ServerOptions, type TemplateName } from "./options.js";
export { ApiError, errorBody, type ErrorBody } from "./errors.js";
export { buildChatPrompt, normalizeMessages, seedCompletionPrompt, type ChatMessage } from "./prompt.js";
export { keyMatches } from "./auth.js";
export { startBrowserDemoServer, type BrowserDemoOptions, type BrowserDemoHandle } from "./browser-demo.js";
