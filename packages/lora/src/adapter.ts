// Opening a PEFT adapter folder: config (peft.ts), tensors (adapter_model.safetensors or
// adapter_model.bin), and the tokenizer the seed ships beside them, whose piece count must
// equal the rows of the adapter's embed_tokens / lm_head.

import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseModelProto } from "@llamats/tokenizer";
import { AdapterError, planAdapter, readAdapterConfig, type AdapterConfig, type AdapterPlan } from "./peft.js";
import { openTensorFile, type TensorFile, type TensorRef } from "./tensor-files.js";

export interface Adapter {
  readonly dir: string;
  /** The folder's name, for messages ("chinese-alpaca-plus-lora-7b"). */
  readonly name: string;
  readonly config: AdapterConfig;
  readonly weightsFile: string;
  readonly byKey: ReadonlyMap<string, TensorRef>;
  readonly plan: AdapterPlan;
  /** tokenizer.model in the folder, if any, and its piece count. */
  readonly tokenizerPath?: string;
  readonly tokenizerPieces?: number;
  /** Rows of the replacement embed_tokens (the adapter's vocabulary), if it has one. */
  readonly embedRows?: number;
  close(): void;
}

export const EMBED_KEY = "model.embed_tokens.weight";
export const LM_HEAD_KEY = "lm_head.weight";

export function openAdapter(dirArg: string): Adapter {
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new AdapterError(`LoRA folder ${dirArg} does not exist`);
  const config = readAdapterConfig(dir);
  const st = join(dir, "adapter_model.safetensors");
  const bin = join(dir, "adapter_model.bin");
  const weightsFile = existsSync(st) ? st : existsSync(bin) ? bin : undefined;
  if (!weightsFile) throw new AdapterError(`${dir}: no adapter_model.safetensors or adapter_model.bin`);
  const file: TensorFile = openTensorFile(weightsFile);
  try {
    const byKey = new Map(file.tensors.map((t) => [t.name, t]));
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
