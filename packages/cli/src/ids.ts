// Token ids on the command line, the one parser for detokenize, logits and generate --ids.
// Ids come as `--ids 1,2,3` (commas and/or whitespace, the form `tokenize` prints), or, for
// lists too long for an argument list, from a file or stdin: `--ids-file FILE`, `--ids -`
// or `--ids-file -`.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { LlamatsError } from "@llamats/tensor";

export interface IdsCliOptions {
  ids?: string;
  idsFile?: string;
}

/** Add --ids and --ids-file to a command. */
export function addIdsOptions(cmd: Command, what = "token ids"): Command {
  return cmd
    .option("--ids <ids>", `${what}, comma-separated (e.g. 1,5,9; "-": read them from stdin)`)
    .option("--ids-file <file>", `read the ${what} from a file ("-": stdin), comma- or whitespace-separated`);
}

/** Parse "1,5, 9\n" into ids; `vocabSize` bounds them when known. */
export function parseIds(spec: string, source: string, vocabSize?: number): number[] {
  const parts = spec.split(/[\s,]+/).filter((s) => s !== "");
  if (parts.length === 0) throw new LlamatsError(`${source}: no token ids`);
  return parts.map((s) => {
    const id = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(id)) throw new LlamatsError(`${source}: "${s.slice(0, 20)}" is not a token id (want comma-separated non-negative integers)`);
    if (vocabSize !== undefined && id >= vocabSize) throw new LlamatsError(`${source}: ${id} is outside the vocabulary (${vocabSize} pieces)`);
    return id;
  });
}

function readInput(file: string, flag: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new LlamatsError(`${flag} ${file}: cannot read: ${(e as Error).message}`);
  }
}

/** The ids given by --ids / --ids-file (exactly one of them), or undefined when neither is. */
export function idsFrom(o: IdsCliOptions, vocabSize?: number): number[] | undefined {
  if (o.ids !== undefined && o.idsFile !== undefined) throw new LlamatsError("give --ids or --ids-file, not both");
  if (o.idsFile !== undefined) return parseIds(readInput(o.idsFile, "--ids-file"), `--ids-file ${o.idsFile}`, vocabSize);
  if (o.ids === "-") return parseIds(readInput("-", "--ids"), "--ids - (stdin)", vocabSize);
  if (o.ids !== undefined) return parseIds(o.ids, "--ids", vocabSize);
  return undefined;
}

/** idsFrom, required. */
export function requireIds(o: IdsCliOptions, vocabSize?: number): number[] {
  const ids = idsFrom(o, vocabSize);
  if (!ids) throw new LlamatsError("give the token ids with --ids 1,2,3, --ids-file FILE or --ids - (stdin)");
  return ids;
}
