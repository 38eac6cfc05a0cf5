// The checks a merge runs before it writes anything: the mistakes Chinese-LLaMA-Alpaca's
// users made most (issue templates, FAQ), each with an error that says what to do.
// - LLaMA tokenizer with an Alpaca LoRA (49953 pieces vs 49954 embedding rows);
// - LoRAs in the wrong order (a later LoRA with a smaller vocabulary);
// - Alpaca-Plus/Pro merged straight onto original LLaMA without the LLaMA-Plus LoRA
//   (heuristic, see isPlusOrProAlpaca);
// - an adapter for another model size, rank / shape mismatches;
// - an adapter that changes nothing (every lora_B zero), NaN/Inf in the LoRA factors.
// NaN/Inf that only appears in the merged sum is caught by mergeTensor.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";
import { hfFromCanonical } from "@llamats/formats";
import { parseModelProto } from "@llamats/tokenizer";
import { EMBED_KEY, LM_HEAD_KEY, tensorF32, type Adapter } from "./adapter.js";
import type { MergeBase } from "./base.js";

/** A canonical name as users know it from the files: "model.layers.0.self_attn.q_proj.weight". */
const hfName = (canonical: string): string => hfFromCanonical(canonical) ?? canonical;

/** A merge input that cannot give a correct model; the message says how to fix it. */
export class MergeCheckError extends LlamatsError {}

export const LLAMA_VOCAB = 32000;
export const CHINESE_LLAMA_VOCAB = 49953;
export const CHINESE_ALPACA_VOCAB = 49954;

const SIZE_BY_DIM: Record<number, string> = { 4096: "7B", 5120: "13B", 6656: "33B", 8192: "65B" };
function sizeName(dim: number): string {
  return SIZE_BY_DIM[dim] ? `${SIZE_BY_DIM[dim]} (hidden size ${dim})` : `hidden size ${dim}`;
}

/** The adapter's vocabulary: its embedding rows, else its tokenizer's piece count. */
export function adapterVocab(a: Adapter): number | undefined {
  return a.embedRows ?? a.tokenizerPieces;
}

/**
 * Heuristic for "this is an Alpaca-Plus or Alpaca-Pro LoRA". Nothing in the files says so
 * for sure; what is published: Plus/Pro Alpaca adapters use r = 64, lora_alpha = 128, where
 * the LLaMA / LLaMA-Plus / first-generation Alpaca adapters use r = 8, lora_alpha = 32; and
 * their hub names contain "plus" or "pro". So: an Alpaca-vocabulary adapter (49954) with
 * r >= 16, or whose folder name or base_model_name_or_path mentions plus/pro.
 */
export function isPlusOrProAlpaca(a: Adapter): boolean {
  if (adapterVocab(a) !== CHINESE_ALPACA_VOCAB) return false;
  const names = `${a.name} ${a.config.baseModelNameOrPath ?? ""}`;
  return a.config.r >= 16 || /(^|[^a-z])(plus|pro)([^a-z]|$)/i.test(names);
}

function checkTokenizer(a: Adapter): void {
  const rows = a.embedRows;
  const pieces = a.tokenizerPieces;
  if (rows === undefined || pieces === undefined || rows === pieces) return;
  if (rows === CHINESE_ALPACA_VOCAB && pieces === CHINESE_LLAMA_VOCAB) {
    throw new MergeCheckError(
      `Did you misuse the LLaMA tokenizer with the Alpaca-LoRA weight? ${a.tokenizerPath} has ${pieces} pieces ` +
        `(Chinese-LLaMA's) but ${a.name}'s embed_tokens has ${rows} rows (Chinese-Alpaca's): put the tokenizer.model ` +
        `that ships with the Alpaca LoRA in ${a.dir}`,
    );
  }
  if (rows === CHINESE_LLAMA_VOCAB && pieces === CHINESE_ALPACA_VOCAB) {
    throw new MergeCheckError(
      `${a.tokenizerPath} has ${pieces} pieces (Chinese-Alpaca's) but ${a.name}'s embed_tokens has ${rows} rows ` +
        `(Chinese-LLaMA's): did you copy the Alpaca tokenizer into a LLaMA LoRA? Use the tokenizer.model that ships with it`,
    );
  }
  throw new MergeCheckError(
    `${a.tokenizerPath} has ${pieces} pieces but ${a.name}'s embed_tokens has ${rows} rows: the tokenizer does not belong to this LoRA`,
  );
}

/** Run every check that needs no merging. Throws MergeCheckError; returns the final vocab size. */
export function checkMergeInputs(base: MergeBase, adapters: readonly Adapter[]): number {
  const baseEmbed = base.source.tensors.find((t) => t.name === EMBED_KEY);
  if (!baseEmbed || baseEmbed.shape.length !== 2) throw new MergeCheckError(`${base.dir}: no ${hfName(EMBED_KEY)} matrix: not a LLaMA model`);
  const baseDim = baseEmbed.shape[1];
  let vocab = baseEmbed.shape[0];
  adapters.forEach((a, idx) => {
    const where = `LoRA ${idx + 1} (${a.dir})`;
    checkTokenizer(a);
    const lm = a.plan.full.get(LM_HEAD_KEY);
    if (lm && a.embedRows !== undefined && a.byKey.get(lm)!.shape[0] !== a.embedRows) {
      throw new MergeCheckError(`${where}: lm_head has ${a.byKey.get(lm)!.shape[0]} rows but embed_tokens has ${a.embedRows}`);
    }
    // Model size: the adapter's hidden size from its embedding or a lora_A of an attention projection.
    let adapterDim: number | undefined;
    const emb = a.plan.full.get(EMBED_KEY);
    if (emb) adapterDim = a.byKey.get(emb)!.shape[1];
    for (const [k, { a: ak }] of a.plan.pairs) {
      if (adapterDim === undefined && /\.attn_[qkv]\.weight$/.test(k) && !a.config.fanInFanOut) adapterDim = a.byKey.get(ak)!.shape[1];
    }
    if (adapterDim !== undefined && adapterDim !== baseDim) {
      throw new MergeCheckError(
        `${where} is for a ${sizeName(adapterDim)} model but the base ${base.dir} is ${sizeName(baseDim)}: ` +
          `use the LoRA of the same size as the base`,
      );
    }
    const newVocab = adapterVocab(a);
    if (newVocab !== undefined && a.embedRows !== undefined && newVocab < vocab) {
      throw new MergeCheckError(
        `${where} has a ${newVocab}-token vocabulary, smaller than the ${vocab} tokens before it: wrong LoRA order? ` +
          `Alpaca-Plus/Pro = --lora <chinese-llama-plus-lora>,<chinese-alpaca-plus-lora>`,
      );
    }
    if (isPlusOrProAlpaca(a) && vocab === LLAMA_VOCAB) {
      throw new MergeCheckError(
        `${where} looks like a Chinese-Alpaca-Plus/Pro LoRA (r=${a.config.r}, lora_alpha=${a.config.loraAlpha}), which was ` +
          `trained on top of Chinese-LLaMA-Plus; merged straight onto original LLaMA it gives bad output (FAQ Q8). ` +
          `Merge --lora <chinese-llama-plus-lora>,${a.dir}`,
      );
    }
    checkShapesAndContent(base, a, where, vocab);
    if (a.embedRows !== undefined) vocab = a.embedRows;
  });
  return vocab;
}

function checkShapesAndContent(base: MergeBase, a: Adapter, where: string, vocabBefore: number): void {
  const nLayers = Number(base.source.config.blockCount);
  const byName = new Map(base.source.tensors.map((t) => [t.name, t]));
  let anyNonZeroB = false;
  for (const [name, { a: ak, b: bk }] of a.plan.pairs) {
    const key = hfName(name);
    const w = byName.get(name);
    if (!w) {
      const layer = /^blk\.(\d+)\./.exec(name);
      if (layer && Number(layer[1]) >= nLayers) {
        throw new MergeCheckError(`${where} has layer ${layer[1]} but the base has ${nLayers} layers: the adapter is for another model size`);
      }
      throw new MergeCheckError(`${where} targets ${key}, which the base model does not have`);
    }
    if (w.shape.length !== 2) throw new MergeCheckError(`${where} targets ${key}, which is not a matrix in the base`);
    const ta = a.byKey.get(ak)!;
    const tb = a.byKey.get(bk)!;
    const [rows, cols] = w.shape;
    const [outDim, inDim] = a.config.fanInFanOut ? [cols, rows] : [rows, cols];
    if (ta.shape[1] !== inDim || tb.shape[0] !== outDim) {
      throw new MergeCheckError(
        `${where}: ${key} is ${rows}x${cols} in the base but the LoRA factors are lora_A ${ta.shape.join("x")}, ` +
          `lora_B ${tb.shape.join("x")} (delta ${tb.shape[0]}x${ta.shape[1]}): the adapter is for another model`,
      );
    }
    const bVals = tensorF32(tb);
    const bad = bVals.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new MergeCheckError(`${where}: ${bk} holds ${bVals[bad]} at element ${bad}: the adapter file is corrupt`);
    if (!anyNonZeroB) anyNonZeroB = bVals.some((v) => v !== 0);
  }
  for (const [name, fk] of a.plan.full) {
    const key = hfName(name);
    const w = byName.get(name);
    const t = a.byKey.get(fk)!;
    if (!w) throw new MergeCheckError(`${where} replaces ${key}, which the base model does not have`);
    const isVocab = name === EMBED_KEY || name === LM_HEAD_KEY;
    const sameShape = w.shape.length === t.shape.length && w.shape.every((d, i) => d === t.shape[i] || (isVocab && i === 0));
    if (!sameShape) {
      throw new MergeCheckError(`${where}: ${key} is ${w.shape.join("x")} in the base but ${t.shape.join("x")} in the adapter`);
    }
  }
  if (a.plan.pairs.size === 0 && a.plan.full.size === 0) throw new MergeCheckError(`${where} holds no LoRA tensors: nothing to merge`);
  if (a.plan.pairs.size > 0 && !anyNonZeroB) {
    throw new MergeCheckError(
      `${where} changes nothing: every lora_B is zero (an untrained adapter, or a save from before training). Check that you downloaded the right adapter_model file`,
    );
  }
  void vocabBefore;
}

/** The folder whose tokenizer files the output gets: the last LoRA with a tokenizer.model, else the base. */
export function tokenizerSourceDir(base: MergeBase, adapters: readonly Adapter[]): string {
  return [...adapters].reverse().find((a) => a.tokenizerPath)?.dir ?? base.dir;
}

/**
 * The output's tokenizer must cover the merged vocabulary: a last LoRA that changes the
 * vocabulary but ships no tokenizer.model would otherwise get an older, shorter one. A GGUF
 * cannot be written without one (its vocabulary is embedded).
 */
export function checkOutputTokenizer(base: MergeBase, adapters: readonly Adapter[], vocabSize: number, needed: boolean): void {
  const dir = tokenizerSourceDir(base, adapters);
  const path = join(dir, "tokenizer.model");
  if (!existsSync(path)) {
    if (needed) throw new MergeCheckError(`no tokenizer.model in the last LoRA or in the base (${dir}): a GGUF needs one; copy the LoRA's tokenizer.model next to its adapter_model file`);
    return;
  }
  const pieces = dir === base.dir ? parseModelProto(readFileSync(path), path).pieces.length : adapters.find((a) => a.dir === dir)!.tokenizerPieces!;
  if (pieces !== vocabSize) {
    throw new MergeCheckError(
      `the merged model has ${vocabSize} tokens but the tokenizer it would get (${path}) has ${pieces} pieces: ` +
        `put the tokenizer.model of the last LoRA in its folder`,
    );
  }
}

