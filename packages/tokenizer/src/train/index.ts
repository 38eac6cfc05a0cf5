// The SentencePiece trainer (spm_train 0.1.97's BPE and unigram trainers).
export { trainSentencePiece, type TrainResult, type TrainProgress, type TrainStage } from "./train.js";
export { TRAIN_DEFAULTS, SPM_SAMPLER_SEED, splitAsCsv, type TrainOptions } from "./options.js";
export { vocabText } from "./model.js";
