// @llamats/tokenizer: SentencePiece ModelProto codec, BPE tokenizer, vocabulary expansion.
export * from "./proto/model-proto.js";
export * from "./proto/specs.js";
export { Vocab, type VocabInit, type NormalizerFlags } from "./vocab.js";
export { Tokenizer, type EncodeOptions } from "./tokenizer.js";
export { StreamingDecoder } from "./decode.js";
export { ggufTokenizerMetadata, vocabFromGgufMetadata, type GgufTokenizerMetadata } from "./gguf-metadata.js";
export { decodeUtf8Sp } from "./utf8.js";
export { SPACE_SYMBOL } from "./normalize.js";
export { mergeVocab, type MergeOptions, type MergeResult } from "./merge.js";
export { readModelProto } from "./load.js";
export { encodeLlama2cTokenizer, isLlama2cTokenizer, parseLlama2cTokenizer } from "./llama2c-tokenizer.js";
export { writeModelProto } from "./save.js";
export {
  trainSentencePiece, vocabText, splitAsCsv, TRAIN_DEFAULTS, SPM_SAMPLER_SEED,
  type TrainOptions, type TrainResult, type TrainProgress, type TrainStage,
} from "./train/index.js";
