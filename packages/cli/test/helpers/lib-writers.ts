// Every llamats writer as a bare library call (no CLI), for the fault-injection and
// kill-at-random tests of issue 18: the GGUF and safetensors writers, quantize, convert
// (to a safetensors file, a GGUF file, an HF folder and a Meta .pth folder), merge (a .pth
// folder) and vocab-merge (a tokenizer.model). Inputs: a small synthetic GGUF model (made
// by `inputs()`), and for merge / vocab-merge the shared `tiny` fixtures (conformance).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ModelSource } from "@llamats/formats";
import { GGMLType } from "@llamats/tensor";

// Each writer imports its package when it runs, so a child process running one writer
// (lib-writer-child.ts) loads only what that writer needs: start-up is most of its time.
// Tests take @llamats/tensor from `tensor()` too: a dynamic import is the ES module the
// writers see, whereas a test file's static import may be tsx's CommonJS copy (another
// instance, with its own fault hook and its own LlamatsError class).
export const tensor = () => import("@llamats/tensor");
const formats = () => import("@llamats/formats");
const fixturePath = async (rel: string) => (await import("@llamats/testkit")).fixturePath(rel);

export interface LibWriter {
  /** "file": OUT is one file (an old OUT must survive a failed write); "dir": a folder (absent before). */
  readonly kind: "file" | "dir";
  /** Needs the shared `tiny` fixtures. */
  readonly fixtures?: boolean;
  run(out: string, model: string): void | Promise<unknown>;
}

/** The shared fixtures merge and vocab-merge read. */
export const WRITER_FIXTURES = ["tiny/base/config.json", "tiny/base/tokenizer.model", "tiny/lora-llama/adapter_model.bin", "tiny/lora-llama/tokenizer.model"];

/** Deterministic bytes (not all zero: a torn write must be visible). */
function bytes(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + salt * 17 + (i >> 9)) & 0xff;
  return b;
}

async function withSource<T>(model: string, body: (s: ModelSource, f: Awaited<ReturnType<typeof formats>>) => T): Promise<T> {
  const f = await formats();
  const s = f.openModelSourceSync(model);
  try {
    return body(s, f);
  } finally {
    s.close();
  }
}

export const LIB_WRITERS: Readonly<Record<string, LibWriter>> = {
  gguf: {
    kind: "file",
    run: async (out) => {
      const { gguf, writeGguf } = await formats();
      writeGguf(out, {
        kv: [gguf.str("general.architecture", "llama"), gguf.str("general.name", "faults")],
        tensors: [
          { name: "a", type: GGMLType.F32, shape: [256, 1024], data: bytes(256 * 1024 * 4, 1) },
          { name: "b", type: GGMLType.F16, shape: [256, 512], data: () => bytes(256 * 512 * 2, 2) },
        ],
      });
    },
  },
  safetensors: {
    kind: "file",
    run: async (out) => {
      (await formats()).writeSafetensors(out, [
        { name: "a", dtype: "F32", shape: [256, 1024], data: bytes(256 * 1024 * 4, 3) },
        { name: "b", dtype: "BF16", shape: [256, 512], data: bytes(256 * 512 * 2, 4) },
      ], { format: "pt" });
    },
  },
  quantize: { kind: "file", run: async (out, model) => (await formats()).quantizeModel(model, out, "q8_0") },
  "convert-safetensors": { kind: "file", run: (out, model) => withSource(model, (s, f) => f.writeSafetensorsFromSource(s, out)) },
  "convert-gguf": { kind: "file", run: (out, model) => withSource(model, (s, f) => f.writeGgufFromSource(s, out)) },
  "convert-hf": { kind: "dir", run: (out, model) => withSource(model, (s, f) => f.writeHfFromSource(s, out)) },
  "convert-pth": { kind: "dir", run: (out, model) => withSource(model, (s, f) => f.writeMetaFromSource(s, out)) },
  merge: {
    kind: "dir", fixtures: true,
    run: async (out) => {
      const { mergeLoras } = await import("@llamats/lora");
      mergeLoras({ base: await fixturePath("tiny/base"), loras: [await fixturePath("tiny/lora-llama")], outputType: "pth", out, threads: 1 });
    },
  },
  "vocab-merge": {
    kind: "file", fixtures: true,
    run: async (out) => {
      const { mergeVocab, readModelProto, writeModelProto } = await import("@llamats/tokenizer");
      const base = readModelProto(await fixturePath("tiny/base/tokenizer.model"));
      writeModelProto(out, mergeVocab(base, readModelProto(await fixturePath("tiny/lora-llama/tokenizer.model"))).model);
    },
  },
};

/** A small synthetic model (one layer, dim 64: MBs, not tens of MBs) in `dir`, made once. */
export async function writerInputs(dir: string): Promise<string> {
  const model = join(dir, "in-f32.gguf");
  if (!existsSync(model)) {
    const { SYNTH_SHAPES, writeSyntheticModel } = await import("@llamats/engine");
    const shape = { ...SYNTH_SHAPES.tiny, name: "writers", embeddingLength: 64, blockCount: 1, headCount: 2, headCountKv: 2, feedForwardLength: 256, contextLength: 64 };
    writeSyntheticModel(model, { shape, type: "f32", seed: 11 });
  }
  return model;
}
