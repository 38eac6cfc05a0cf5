export * from "./types.js";
export { openGguf, type GgufFile } from "./reader.js";
export { writeGguf, encodeGgufHeader, gguf, type GgufWriteTensor, type GgufWriteOptions } from "./writer.js";
