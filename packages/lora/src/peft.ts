// PEFT LoRA adapters (peft 0.3, as Chinese-LLaMA-Alpaca ships them): a folder holding
// `adapter_config.json` and `adapter_model.bin` (torch.save zip) or
// `adapter_model.safetensors`, usually with the tokenizer files of the model it targets.
// Keys: `base_model.model.<base key minus .weight>.lora_A.weight` (r, in) and `.lora_B.weight`
// (out, r) for each target module, plus full tensors for `modules_to_save`
// (`base_model.model.model.embed_tokens.weight`, `base_model.model.lm_head.weight`).
// This file parses the config and groups the keys per canonical tensor; the key names are
// formats' (canonicalFromPeft), reading the tensors too.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";
import { canonicalFromPeft } from "@llamats/formats";

export interface AdapterConfig {
  readonly r: number;
  readonly loraAlpha: number;
  /** lora_alpha / r, the merge scale. */
  readonly scale: number;
  readonly targetModules: readonly string[];
  readonly fanInFanOut: boolean;
  readonly modulesToSave: readonly string[];
  readonly peftType: string;
  readonly baseModelNameOrPath: string | null;
  readonly bias: string;
}

/** Error in an adapter folder (bad config, missing file, unexpected key). */
export class AdapterError extends LlamatsError {}

/** Parse and validate adapter_config.json text. `file` names it in errors. */
export function parseAdapterConfig(text: string, file: string): AdapterConfig {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AdapterError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw new AdapterError(`${file}: expected a JSON object`);
  const peftType = j.peft_type === undefined ? "LORA" : String(j.peft_type);
  if (peftType !== "LORA") throw new AdapterError(`${file}: peft_type is ${peftType}; only LORA adapters can be merged`);
  const r = j.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r <= 0 || r > 65536) {
    throw new AdapterError(`${file}: field "r" must be a positive integer, got ${JSON.stringify(r)}`);
  }
  const alpha = j.lora_alpha;
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) {
    throw new AdapterError(`${file}: field "lora_alpha" must be a positive number, got ${JSON.stringify(alpha)}`);
  }
  const strList = (key: string): string[] => {
    const v = j[key];
    if (v === undefined || v === null) return [];
    if (typeof v === "string") return [v]; // peft also accepts a regex string for target_modules
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      throw new AdapterError(`${file}: field "${key}" must be a list of module names`);
    }
    return v as string[];
  };
  const targetModules = strList("target_modules");
  if (targetModules.length === 0) throw new AdapterError(`${file}: field "target_modules" is missing or empty`);
  const fif = j.fan_in_fan_out ?? false;
  if (typeof fif !== "boolean") throw new AdapterError(`${file}: field "fan_in_fan_out" must be true or false`);
  const bias = j.bias === undefined ? "none" : String(j.bias);
  return {
    r,
    loraAlpha: alpha,
    scale: alpha / r,
    targetModules,
    fanInFanOut: fif,
    modulesToSave: strList("modules_to_save"),
    peftType,
    baseModelNameOrPath: typeof j.base_model_name_or_path === "string" ? j.base_model_name_or_path : null,
    bias,
  };
}

/** A real adapter_config.json is under 1 KB; a larger one is refused before it is read. */
export const MAX_ADAPTER_CONFIG_BYTES = 1 << 20;

export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, "adapter_config.json");
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_ADAPTER_CONFIG_BYTES) throw new AdapterError(`${file}: ${size} bytes exceed the ${MAX_ADAPTER_CONFIG_BYTES}-byte limit for an adapter config`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof AdapterError) throw e;
    throw new AdapterError(`${dir}: no adapter_config.json: is this a PEFT LoRA folder?`);
  }
  return parseAdapterConfig(text, file);
}

/** The adapter tensors grouped per canonical base tensor (formats' canonicalFromPeft). */
export interface AdapterPlan {
  /** Canonical base name ("blk.3.attn_q.weight") -> the lora_A / lora_B adapter keys. */
  readonly pairs: Map<string, { a: string; b: string }>;
  /** Canonical base name -> adapter key of the full replacement tensor (modules_to_save). */
  readonly full: Map<string, string>;
}

/** Group adapter keys into LoRA pairs and full tensors; every lora_A needs its lora_B. */
export function planAdapter(keys: readonly string[], where: string): AdapterPlan {
  const as = new Map<string, string>();
  const bs = new Map<string, string>();
  const full = new Map<string, string>();
  for (const k of keys) {
    const p = k.startsWith("base_model.model.") ? canonicalFromPeft(k) : undefined;
    if (!p) throw new AdapterError(`${where}: tensor "${k}" is not a PEFT key of a LLaMA weight (expected base_model.model.<weight>[.lora_A|.lora_B].weight)`);
    (p.part === "lora_A" ? as : p.part === "lora_B" ? bs : full).set(p.canonical, k);
  }
  const pairs = new Map<string, { a: string; b: string }>();
  for (const [base, a] of as) {
    const b = bs.get(base);
    if (!b) throw new AdapterError(`${where}: "${a}" has no matching lora_B tensor`);
    pairs.set(base, { a, b });
  }
  for (const [base, b] of bs) {
    if (!as.has(base)) throw new AdapterError(`${where}: "${b}" has no matching lora_A tensor`);
  }
  return { pairs, full };
}
