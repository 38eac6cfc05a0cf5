// `llamats inspect PATH [--json] [--format llama2c]`: what a model file or folder holds —
// format, hyper-parameters, metadata and tensor list — for GGUF, safetensors, HF and Meta
// folders, PyTorch checkpoints, PEFT adapters and llama2.c. `--json` prints one object
// {format, config, metadata, tensors: [{name, dtype, shape, bytes}]} on stdout.

import type { Command } from "commander";
import { LlamatsError, ggmlTypeInfo } from "@llamats/tensor";
import { openModelSource, type ModelSource, type SourceFormat } from "@llamats/formats";

const FORMATS: SourceFormat[] = ["gguf", "safetensors", "hf", "meta", "llama2c", "peft"];

export interface InspectReport {
  format: string;
  path: string;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  tokenizerPath?: string;
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; sourceName?: string }[];
}

export function inspectSource(s: ModelSource): InspectReport {
  return {
    format: s.format,
    path: s.path,
    config: { ...s.config },
    metadata: { ...s.metadata },
    ...(s.tokenizerPath ? { tokenizerPath: s.tokenizerPath } : {}),
    tensors: s.tensors.map((t) => ({
      name: t.name,
      dtype: ggmlTypeInfo(t.type)?.name ?? String(t.type),
      shape: [...t.shape],
      bytes: t.byteLength,
      ...(t.sourceName !== t.name ? { sourceName: t.sourceName } : {}),
    })),
  };
}

function jsonReplacer(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

function short(v: unknown): string {
  if (Array.isArray(v)) {
    const head = v.slice(0, 4).map((x) => short(x)).join(", ");
    return v.length > 4 ? `[${head}, ... (${v.length} items)]` : `[${head}]`;
  }
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? v.slice(0, 77) + "..." : v);
  if (typeof v === "object" && v !== null) return JSON.stringify(v, jsonReplacer).slice(0, 120);
  return String(v);
}

function human(r: InspectReport): string {
  const lines: string[] = [`format: ${r.format}`, `path: ${r.path}`];
  if (r.tokenizerPath) lines.push(`tokenizer: ${r.tokenizerPath}`);
  const cfg = Object.entries(r.config);
  if (cfg.length) lines.push("config:", ...cfg.map(([k, v]) => `  ${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`));
  const md = Object.entries(r.metadata);
  lines.push(`metadata: ${md.length} keys`, ...md.map(([k, v]) => `  ${k}: ${short(v)}`));
  const total = r.tensors.reduce((a, t) => a + t.bytes, 0);
  lines.push(`tensors: ${r.tensors.length}, ${total} bytes`);
  const w = Math.max(4, ...r.tensors.map((t) => t.name.length));
  for (const t of r.tensors) {
    lines.push(`  ${t.name.padEnd(w)}  ${t.dtype.padEnd(5)} ${JSON.stringify(t.shape).padEnd(14)} ${String(t.bytes).padStart(11)}${t.sourceName ? `  <- ${t.sourceName}` : ""}`);
  }
  return lines.join("\n") + "\n";
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description("show the format, hyper-parameters, metadata and tensors of a model file or folder")
    .argument("<path>", "GGUF / safetensors / .bin / .pth file, or an HF, Meta or PEFT folder")
    .option("--json", "print one JSON object {format, config, metadata, tensors}")
    .option("--format <format>", `force the input format (${FORMATS.join(", ")}); llama2c files have no magic number`)
    .action(async (path: string, opts: { json?: boolean; format?: string }) => {
      if (opts.format !== undefined && !FORMATS.includes(opts.format as SourceFormat)) {
        throw new LlamatsError(`--format must be one of ${FORMATS.join(", ")}, got "${opts.format}"`);
      }
      const s = await openModelSource(path, { format: opts.format as SourceFormat | undefined });
      try {
        const r = inspectSource(s);
        if (opts.json) {
          const { format, config, metadata, tensors } = r;
          process.stdout.write(JSON.stringify({ format, config, metadata, tensors: tensors.map(({ name, dtype, shape, bytes }) => ({ name, dtype, shape, bytes })) }, jsonReplacer) + "\n");
        } else {
          process.stdout.write(human(r));
        }
      } finally {
        s.close();
      }
    });
}
