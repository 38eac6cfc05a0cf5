// The stories260K fixture (llama2.c .bin) loaded for the model conformance tests, with
// llama2.c run.c's reference sequences, logits and greedy generation.
import { readFileSync } from "node:fs";
import { openModelSource, configFromSource } from "@llamats/formats";
import { type LlamaWeights, loadWeights } from "@llamats/model";
import type { Backend } from "@llamats/tensor";
import { fixturePath } from "@llamats/testkit";

export const STORIES260K_FILES = ["stories260K/stories260K.bin", "stories260K/reference.json"];

export interface Stories260KReference {
  sequences: { name: string; tokens: number[]; argmax: number[]; logits: number[][] }[];
  greedy: { prompt: number[]; steps: number; generated: number[] };
}

export async function loadStories260K(backend: Backend): Promise<{ weights: LlamaWeights; ref: Stories260KReference }> {
  const ref = JSON.parse(readFileSync(fixturePath("stories260K/reference.json"), "utf8")) as Stories260KReference;
  const src = await openModelSource(fixturePath("stories260K/stories260K.bin"), { format: "llama2c" });
  try {
    return { weights: loadWeights(src, backend, configFromSource(src)), ref };
  } finally {
    src.close();
  }
}
