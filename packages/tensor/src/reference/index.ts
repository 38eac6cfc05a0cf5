export { ReferenceBackend, type ReferenceBackendOptions, type TypeKernels } from "./backend.js";
export { decodeRowF32, decodeRowF16, decodeRowBF16, floatRowDecoders } from "./rows.js";
export { ropeTables } from "./rope.js";
export { AttentionRef } from "./attention.js";
