// `llamats logits -m MODEL --ids 1,5,9 [--out FILE]`: the logits of every position of an id
// sequence (evaluated from position 0 in one batched pass), as float32 little-endian,
// row-major (nIds, vocab), to --out (temp file + rename) or stdout. For research and for
// checking llamats against other engines. Takes the same model options as generate.

import { endianness } from "node:os";
import type { Command } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { loadModel } from "@llamats/engine";
import { addModelOptions, loadOptionsFrom, type ModelCliOptions } from "./model-options.js";
import { writeAtomic } from "./generate.js";

export function register(program: Command): void {
  const cmd = program
    .command("logits")
    .description("write float32 little-endian logits (nIds, vocab) for a sequence of token ids")
    .requiredOption("--ids <ids>", "comma-separated token ids, e.g. 1,5,9")
    .option("--out <file>", "output file (default: stdout)");
  addModelOptions(cmd);
  cmd.action(async (o: ModelCliOptions & { ids: string; out?: string }) => {
    const ids = parseIds(o.ids);
    const load = loadOptionsFrom(o);
    // The KV cache only needs the sequence itself unless --ctx says otherwise.
    const model = await loadModel(o.model, { ...load, nCtx: load.nCtx ?? ids.length });
    try {
      if (ids.length > model.nCtx) throw new LlamatsError(`${ids.length} ids do not fit the context of ${model.nCtx} (use --ctx)`);
      const logits = model.forward(ids, { pos: 0, logits: "all" }); // (nIds, vocab)
      const bytes = littleEndianBytes(logits);
      if (o.out) writeAtomic(o.out, bytes);
      else await writeStdout(bytes);
      process.stderr.write(`logits: ${ids.length} x ${model.config.vocabSize} float32\n`);
    } finally {
      model.dispose();
    }
  });
}

export function parseIds(s: string): number[] {
  const parts = s.split(",").map((p) => p.trim());
  const ids = parts.map(Number);
  if (parts.length === 0 || parts.some((p, i) => !/^\d+$/.test(p) || !Number.isSafeInteger(ids[i]))) {
    throw new LlamatsError(`--ids ${s}: want comma-separated non-negative integers`);
  }
  return ids;
}

function littleEndianBytes(x: Float32Array): Uint8Array {
  if (endianness() === "LE") return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const out = new Uint8Array(x.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < x.length; i++) dv.setFloat32(i * 4, x[i], true);
  return out;
}

function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (err) => (err ? reject(err) : resolve()));
  });
}
