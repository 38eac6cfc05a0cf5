export { convertTensorBytes, toFloat32, fromFloat32, tensorBytes, rowsCols } from "./dtype.js";
export { llamaHParamKv, tokenizerKv, loadModelProto, llamaFileType, type TokenizerInput } from "./metadata.js";
export { writeGgufFromSource, dtypePolicy, defaultGgufType, type WriteGgufFromSourceOptions, type WrittenGguf } from "./to-gguf.js";
export {
  writeSafetensorsFromSource, writeHfFromSource, hfConfig, torchLayoutTypes, writeTokenizerBeside, hparamMetadata, type WriteSafetensorsFromSourceOptions,
} from "./to-safetensors.js";
export { writeMetaFromSource, metaParamsFromSource, torchDtypeOfGgml, type WriteMetaFromSourceOptions } from "./to-pth.js";
export { modelProtoFromGguf, tokenizerModelFromGguf } from "./tokenizer-export.js";
export { quantizeModel, type QuantizeModelOptions, type QuantizeModelResult } from "./quantize-model.js";
export { refuseAdapter } from "./adapter-check.js";
