// Opening a PEFT adapter folder: config (peft.ts), tensors (adapter_model.safetensors or
// adapter_model.bin, read by formats under their own keys), grouped per canonical tensor,
// and the tokenizer the seed ships beside them, whose piece count must equal the rows of
// the adapter's embed_tokens / lm_head.
// PEFT factors were trained against Hugging Face's rotate-half Q/K rows; every canonical
// tensor is in GGUF layout (Q/K interleaved). canonicalLoraRows is the one place that moves
// the adapter's rows into that layout: delta = B·A has B's rows, so B (and a full
// replacement of a Q/K weight) is permuted like the base weight, and A never is.

import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { GGMLType, LlamatsError } from "@llamats/tensor";
import { openModelSourceSync, permuteQkRows, qkKind, toFloat32, type ModelSource } from "@llamats/formats";
import { parseModelProto } from "@llamats/tokenizer";
import { AdapterError, planAdapter, readAdapterConfig, type AdapterConfig, type AdapterPlan } from "./peft.js";

/** One tensor of the adapter file, under its PEFT key. */
export interface AdapterTensor {
  readonly key: string;
  readonly type: GGMLType;
  readonly shape: readonly number[];
  /** Raw little-endian bytes, as stored (HF row order). */
  read(): Uint8Array;
}

export interface Adapter {
  readonly dir: string;
  /** The folder's name, for messages ("chinese-alpaca-plus-lora-7b"). */
  readonly name: string;
  readonly config: AdapterConfig;
  readonly weightsFile: string;
  readonly byKey: ReadonlyMap<string, AdapterTensor>;
  /** Keyed by canonical tensor names. */
  readonly plan: AdapterPlan;
  /** tokenizer.model in the folder, if any, and its piece count. */
  readonly tokenizerPath?: string;
  readonly tokenizerPieces?: number;
  /** Rows of the replacement token_embd (the adapter's vocabulary), if it has one. */
  readonly embedRows?: number;
  close(): void;
}

export const EMBED_KEY = "token_embd.weight";
export const LM_HEAD_KEY = "output.weight";

/** Head counts of the model an adapter applies to (the Q/K permutation needs them). */
export interface HeadCounts {
  readonly headCount: number;
  readonly headCountKv?: number;
}

/**
 * Rows of an adapter tensor for canonical `name` (lora_B, or a full replacement) in GGUF
 * layout: HF rotate-half -> interleaved for attn_q / attn_k, unchanged otherwise. Works on
 * raw bytes of any element type (whole rows move).
 */
export function canonicalLoraRows(name: string, bytes: Uint8Array, rows: number, heads: HeadCounts): Uint8Array {
  const kind = qkKind(name);
  if (!kind) return bytes;
  return permuteQkRows(bytes, rows, kind === "q" ? heads.headCount : (heads.headCountKv ?? heads.headCount), "hfToInterleaved");
}

/** A float tensor's bytes as float32 values (f16 / bf16 / f32). */
export function tensorF32(t: AdapterTensor, bytes: Uint8Array = t.read()): Float32Array {
  if (t.type !== GGMLType.F16 && t.type !== GGMLType.BF16 && t.type !== GGMLType.F32) {
    throw new LlamatsError(`tensor "${t.key}" has ggml type ${t.type}; a LoRA merge needs floating-point weights`);
  }
  return toFloat32(bytes, t.type, t.shape);
}

export function openAdapter(dirArg: string): Adapter {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new AdapterError(`LoRA folder ${dirArg} does not exist`);
  const config = readAdapterConfig(dir);
  const st = join(dir, "adapter_model.safetensors");
  const bin = join(dir, "adapter_model.bin");
  const weightsFile = existsSync(st) ? st : existsSync(bin) ? bin : undefined;
  if (!weightsFile) throw new AdapterError(`${dir}: no adapter_model.safetensors or adapter_model.bin`);
  // formats passes PEFT keys through under their own names (format "peft" / plain safetensors).
  const file: ModelSource = openModelSourceSync(weightsFile);
  try {
    const byKey = new Map<string, AdapterTensor>(file.tensors.map((t) => [t.name, { key: t.name, type: t.type, shape: t.shape, read: () => file.read(t.name) }]));
    const plan = planAdapter([...byKey.keys()], weightsFile);
    const tokPath = join(dir, "tokenizer.model");
    let tokenizerPieces: number | undefined;
    if (existsSync(tokPath)) tokenizerPieces = parseModelProto(readFileSync(tokPath), tokPath).pieces.length;
    const embKey = plan.full.get(EMBED_KEY);
    const embedRows = embKey ? byKey.get(embKey)!.shape[0] : undefined;
    for (const [base, { a, b }] of plan.pairs) {
      const ta = byKey.get(a)!;
      const tb = byKey.get(b)!;
      if (ta.shape.length !== 2 || tb.shape.length !== 2) throw new AdapterError(`${weightsFile}: LoRA factors of ${base} are not matrices`);
      if (ta.shape[0] !== config.r || tb.shape[1] !== config.r) {
        throw new AdapterError(
          `${weightsFile}: ${base} has lora_A ${JSON.stringify(ta.shape)} and lora_B ${JSON.stringify(tb.shape)}, ` +
            `but adapter_config.json says r = ${config.r}: the config does not belong to these weights`,
        );
      }
      if (config.fanInFanOut && qkKind(base)) {
        throw new AdapterError(`${weightsFile}: fan_in_fan_out (Conv1D layout) on ${base}: LLaMA's q/k projections are Linear; this adapter is for another model`);
      }
    }
    return {
      dir, name: basename(dir), config, weightsFile, byKey, plan,
      tokenizerPath: tokenizerPieces !== undefined ? tokPath : undefined, tokenizerPieces, embedRows,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}
