// `llamats logits -m MODEL (--ids 1,5,9 | --ids-file FILE | --ids -) [--out FILE]`: the
// logits of every position of an id sequence (evaluated from position 0 in one batched
// pass), as float32 little-endian, row-major (nIds, vocab), to --out (temp file + rename) or
// stdout; refused when stdout is a terminal (binary). For research and for checking llamats
// against other engines. Takes the same model options as generate.

import { endianness } from "node:os";
import type { Command } from "commander";
import { LlamatsError, writeFileAtomic } from "@llamats/tensor";
import { loadModel } from "@llamats/engine";
import { addModelOptions, loadOptionsFrom, type ModelCliOptions } from "./model-options.js";
import { addIdsOptions, requireIds, type IdsCliOptions } from "../ids.js";

export function register(program: Command): void {
  const cmd = program
    .command("logits")
    .description("write float32 little-endian logits (nIds, vocab) for a sequence of token ids")
    .option("--out <file>", "output file (default: stdout, when it is not a terminal)");
  addIdsOptions(cmd);
  addModelOptions(cmd);
  cmd.action(async (o: ModelCliOptions & IdsCliOptions & { out?: string }) => {
    const ids = requireIds(o);
    if (!o.out && process.stdout.isTTY) throw new LlamatsError("logits are binary float32: give --out FILE or redirect stdout to a file or pipe");
    const load = loadOptionsFrom(o);
    // The KV cache only needs the sequence itself unless --ctx says otherwise.
    const model = await loadModel(o.model, { ...load, nCtx: load.nCtx ?? ids.length });
    try {
      if (ids.length > model.nCtx) throw new LlamatsError(`${ids.length} ids do not fit the context of ${model.nCtx} (use --ctx)`);
      const logits = await model.forwardAsync(ids, { pos: 0, logits: "all" }); // (nIds, vocab)
      const bytes = littleEndianBytes(logits);
      if (o.out) writeFileAtomic(o.out, bytes);
      else await writeStdout(bytes);
      process.stderr.write(`logits: ${ids.length} x ${model.config.vocabSize} float32\n`);
    } finally {
      model.dispose();
    }
  });
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
