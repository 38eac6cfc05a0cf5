// One line per command module. Each module exports `register(program: Command): void`.
import type { Command } from "commander";
import * as generate from "./generate.js";
import * as chat from "./chat.js";
import * as logits from "./logits.js";
import * as demo from "./demo.js";
import * as synth from "./synth.js";
import * as merge from "./merge.js";
import * as quantize from "./quantize.js";
import * as inspect from "./inspect.js";
import * as convert from "./convert.js";
import * as tokenize from "./tokenize.js";
import * as vocabMerge from "./vocab-merge.js";
import * as vocabTrain from "./vocab-train.js";
import * as bench from "./bench.js";
import * as perplexity from "./perplexity.js";
import * as serve from "./serve.js";
import * as ceval from "./ceval.js";
import * as gpuInfo from "./gpu-info.js";

export function registerCommands(program: Command): void {
  void program;
  for (const c of [generate, chat, logits, demo, synth]) c.register(program);
  merge.register(program);
  quantize.register(program);
  inspect.register(program);
  convert.register(program);
  tokenize.register(program);
  vocabMerge.register(program);
  vocabTrain.register(program);
  bench.register(program);
  perplexity.register(program);
  serve.register(program);
  ceval.register(program);
  gpuInfo.register(program);
}
