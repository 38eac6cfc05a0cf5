export * from "./types.js";
export { openGguf, openGgufBytes, type GgufFile, type GgufBytesOptions } from "./reader.js";
export { writeGguf, encodeGgufHeader, gguf, type GgufWriteTensor, type GgufWriteOptions } from "./writer.js";
