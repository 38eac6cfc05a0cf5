// A runnable example of the @llamats/engine library API:
//   node --conditions=source --import=tsx docs/examples/generate.ts [MODEL] [PROMPT]
// (after `npm run build`, plain `node` works on a compiled copy too). Without MODEL it builds
// the embedded synthetic `tiny` model in a temporary folder, so it runs offline.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alpacaPrompt, argmax, loadModel, writeSyntheticModel } from "@llamats/engine";

let modelPath = process.argv[2];
if (!modelPath) {
  modelPath = join(mkdtempSync(join(tmpdir(), "llamats-example-")), "tiny-q8_0.gguf");
  writeSyntheticModel(modelPath, { shape: "tiny", type: "q8_0", seed: 0 });
}
const instruction = process.argv[3] ?? "为什么要减少污染，保护环境？";

const model = await loadModel(modelPath, { backend: "auto", nCtx: 512 });
console.error(`loaded ${model.path}: width ${model.config.embeddingLength}, ${model.config.blockCount} layers, vocab ${model.config.vocabSize}, backend ${model.backend.name}`);

// 1. Tokens and next-token logits.
const ids = model.tokenize(alpacaPrompt(instruction), { bos: true });
const logits = model.forward(ids, { pos: 0, capture: { hidden: true } }); // (vocab) of the last token
const next = argmax(logits);
console.error(`${ids.length} prompt tokens; most likely next token ${next} ${JSON.stringify(model.detokenize([next]))}`);
console.error(`captured hidden states: ${model.captured.layerOut?.length ?? 0} floats (nLayers, nTokens, dim)`);

// 2. Streaming generation with cancellation after 5 seconds.
model.reset();
const signal = AbortSignal.timeout(5000);
for await (const piece of model.generate(alpacaPrompt(instruction), { maxTokens: 64, temperature: 0.2, seed: 1, signal })) {
  process.stdout.write(piece);
}
process.stdout.write("\n");
const s = model.lastStats!;
console.error(`prompt ${s.promptTokPerSec.toFixed(1)} tok/s, generation ${s.genTokPerSec.toFixed(1)} tok/s, stopped by ${s.stopReason}`);
model.dispose();
