// `llamats demo` (what `npm start` runs): the whole pipeline offline on the embedded model.
// 1. synthesise the `tiny` model (real LLaMA architecture, seeded weights, embedded
//    SentencePiece vocabulary) as F16 GGUF into fixtures/generated/ (reused when present and
//    valid: a GGUF that opens, with the expected name and tensor count);
// 2. quantise it to Q8_0 and Q4_0 through the GGUF writer and @llamats/quant;
// 3. load the Q4_0 file on the fastest backend available, stream a generation, print speeds.
// Text on stdout, steps and figures on stderr. The weights are random, so is the text.

import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { GGMLType } from "@llamats/tensor";
import { dtypePolicy, openGguf, openModelSource, writeGgufFromSource } from "@llamats/formats";
import { SYNTH_SHAPES, SYNTH_VERSION, loadModel, synthTensorSpecs, writeSyntheticModel } from "@llamats/engine";
import { speedLine } from "./generate.js";

const SEED = 0;
const NAME = `llamats-synthetic-tiny-seed${SEED}`;

export function register(program: Command): void {
  program
    .command("demo")
    .description("build the embedded tiny model, quantise it, and generate (offline; what npm start runs)")
    .option("--dir <dir>", "where to keep the generated models (default: <repo>/fixtures/generated)")
    .option("-n, --n-predict <n>", "tokens to generate", "48")
    .option("-p, --prompt <text>", "prompt", "Once upon a time, 中国")
    .action(async (o: { dir?: string; nPredict: string; prompt: string }) => {
      const dir = resolve(o.dir ?? defaultDir());
      mkdirSync(dir, { recursive: true });
      const t0 = Date.now();
      const step = (msg: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

      const f16 = join(dir, "llamats-tiny-f16.gguf");
      if (isValid(f16)) step(`reusing ${f16}`);
      else {
        const bytes = writeSyntheticModel(f16, { shape: "tiny", type: "f16", seed: SEED });
        step(`synthesised ${f16} (${mib(bytes)}; ${describeTiny()})`);
      }
      let q4 = "";
      for (const [type, name] of [[GGMLType.Q8_0, "q8_0"], [GGMLType.Q4_0, "q4_0"]] as const) {
        const out = join(dir, `llamats-tiny-${name}.gguf`);
        if (isValid(out)) step(`reusing ${out}`);
        else {
          const src = await openModelSource(f16);
          try {
            const w = writeGgufFromSource(src, out, { typeFor: dtypePolicy(type) });
            step(`quantised to ${name}: ${out} (${mib(w.bytes)})`);
          } finally {
            src.close();
          }
        }
        q4 = out;
      }
      const model = await loadModel(q4, { backend: "auto" });
      step(`loaded ${q4} on the ${model.backend.name} backend; prompt: ${JSON.stringify(o.prompt)}`);
      try {
        for await (const piece of model.generate(o.prompt, { maxTokens: Number(o.nPredict) || 48, temperature: 0.7, seed: SEED })) {
          process.stdout.write(piece);
        }
        process.stdout.write("\n");
        step(speedLine(model.lastStats));
      } finally {
        model.dispose();
      }
      process.stderr.write(
        "Real models: llamats generate -m chinese-alpaca-7b-q4_0.gguf --with-prompt -p '为什么要减少污染，保护环境？' " +
          "(a GGUF, HF or Meta folder of a merged Chinese-Alpaca; merge LoRAs with llamats merge, quantise with llamats quantize)\n",
      );
    });
}

function describeTiny(): string {
  const s = SYNTH_SHAPES.tiny;
  return `dim ${s.embeddingLength}, ${s.blockCount} layers, ${s.headCount} heads / ${s.headCountKv} KV heads, ffn ${s.feedForwardLength}, vocab ${s.vocabSize}`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A previously generated file is reused only if it opens and is what we would write. */
function isValid(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    const f = openGguf(path);
    try {
      return (
        f.metadata["general.name"] === NAME &&
        f.metadata["llamats.synth.version"] === SYNTH_VERSION &&
        f.tensors.length === synthTensorSpecs(SYNTH_SHAPES.tiny).length
      );
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

/** <repo>/fixtures/generated when running inside the llamats checkout, else a temp folder. */
function defaultDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "turbo.json"))) return join(dir, "fixtures", "generated");
    dir = dirname(dir);
  }
  return join(tmpdir(), "llamats-demo");
}
