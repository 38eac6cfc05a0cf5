// Extracts the `nmt_nfkc` precompiled character map from a model trained by spm_train 0.1.97
// (any model trained with the default --normalization_rule_name) into assets/, gzipped.
// The map is SentencePiece's compiled NFKC data (normalization_rule.h); the trainer writes
// it into every nmt_nfkc model it trains, so vocab-train ships it as data.
// Usage: npx tsx scripts/extract-nmt-nfkc.ts some_spm_trained.model
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { parseModelProto } from "../src/proto/model-proto.js";

const model = parseModelProto(new Uint8Array(readFileSync(process.argv[2])), process.argv[2]);
if (model.normalizerSpec.name !== "nmt_nfkc") throw new Error(`${process.argv[2]}: normalizer is ${model.normalizerSpec.name}`);
const out = new URL("../assets/nmt_nfkc.charsmap.gz", import.meta.url);
writeFileSync(out, gzipSync(model.normalizerSpec.precompiledCharsmap, { level: 9 }));
process.stderr.write(`${model.normalizerSpec.precompiledCharsmap.length} bytes -> ${out.pathname}\n`);
