// `llamats vocab-merge --base llama.model --add chinese_sp.model -o out.model [--add-pad]`:
// Chinese-LLaMA's vocabulary expansion (merge_tokenizers.py). The output is written to
// OUT.tmp-<pid> and renamed; a summary goes to stderr, the output's sha256 to stdout.

import type { Command } from "commander";
import { createHash } from "node:crypto";
import { mergeVocab, readModelProto, writeModelProto } from "@llamats/tokenizer";

export function register(program: Command): void {
  program
    .command("vocab-merge")
    .description("append the pieces of a second SentencePiece model (Chinese-LLaMA vocabulary expansion)")
    .requiredOption("--base <MODEL>", "base tokenizer.model (LLaMA)")
    .requiredOption("--add <MODEL>", "model whose missing pieces are appended (chinese_sp.model)")
    .requiredOption("-o, --output <OUT>", "merged tokenizer.model to write")
    .option("--add-pad", "append [PAD] (Chinese-Alpaca)", false)
    .action((o: { base: string; add: string; output: string; addPad: boolean }) => {
      const base = readModelProto(o.base);
      const add = readModelProto(o.add);
      const { model, added } = mergeVocab(base, add, { addPad: o.addPad });
      const bytes = writeModelProto(o.output, model);
      process.stderr.write(
        `vocab-merge: ${base.pieces.length} + ${added} pieces${o.addPad ? " + [PAD]" : ""} = ${model.pieces.length} -> ${o.output}\n`,
      );
      process.stdout.write(`${createHash("sha256").update(bytes).digest("hex")}  ${o.output}\n`);
    });
}
