// PEFT LoRA adapters (peft 0.3, as Chinese-LLaMA-Alpaca ships them): a folder holding
// `adapter_config.json` and `adapter_model.bin` (torch.save zip) or
// `adapter_model.safetensors`, usually with the tokenizer files of the model it targets.
// Keys: `base_model.model.<base key minus .weight>.lora_A.weight` (r, in) and `.lora_B.weight`
// (out, r) for each target module, plus full tensors for `modules_to_save`
// (`base_model.model.model.embed_tokens.weight`, `base_model.model.lm_head.weight`).
// This file parses the config and the key names; reading the tensors is formats' job.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";

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

export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, "adapter_config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new AdapterError(`${dir}: no adapter_config.json: is this a PEFT LoRA folder?`);
  }
  return parseAdapterConfig(text, file);
}

/** What one adapter key holds, and which base tensor (HF name) it applies to. */
export type PeftKey =
  | { readonly kind: "lora_A" | "lora_B"; readonly baseKey: string; readonly module: string }
  | { readonly kind: "full"; readonly baseKey: string; readonly module: string };

const PREFIX = "base_model.model.";

/**
 * Parse an adapter key. `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` ->
 * {kind: "lora_A", baseKey: "model.layers.3.self_attn.q_proj.weight", module: "q_proj"}.
 * Newer PEFT spellings (`lora_A.default.weight`, `modules_to_save.default.weight`) are
 * accepted too. Returns undefined for keys that do not start with base_model.model.
 */
export function parsePeftKey(key: string): PeftKey | undefined {
  if (!key.startsWith(PREFIX)) return undefined;
  let rest = key.slice(PREFIX.length);
  const m = /^(.*)\.(lora_A|lora_B)(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(rest);
  if (m) {
    const path = m[1];
    return { kind: m[2] as "lora_A" | "lora_B", baseKey: `${path}.weight`, module: lastPart(path) };
  }
  rest = rest.replace(/\.modules_to_save\.[A-Za-z0-9_-]+\./, ".");
  const dot = rest.lastIndexOf(".");
  return { kind: "full", baseKey: rest, module: lastPart(dot > 0 ? rest.slice(0, dot) : rest) };
}

function lastPart(path: string): string {
  const i = path.lastIndexOf(".");
  return i >= 0 ? path.slice(i + 1) : path;
}

/** The adapter tensors grouped per base key. */
export interface AdapterPlan {
  /** Base HF key -> the lora_A / lora_B adapter key names. */
  readonly pairs: Map<string, { a: string; b: string }>;
  /** Base HF key -> adapter key of the full replacement tensor. */
  readonly full: Map<string, string>;
}

/** Group adapter keys into LoRA pairs and full tensors; every lora_A needs its lora_B. */
export function planAdapter(keys: readonly string[], where: string): AdapterPlan {
  const as = new Map<string, string>();
  const bs = new Map<string, string>();
  const full = new Map<string, string>();
  for (const k of keys) {
    const p = parsePeftKey(k);
    if (!p) throw new AdapterError(`${where}: tensor "${k}" is not a PEFT key (expected base_model.model.*)`);
    if (p.kind === "lora_A") as.set(p.baseKey, k);
    else if (p.kind === "lora_B") bs.set(p.baseKey, k);
    else full.set(p.baseKey, k);
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
