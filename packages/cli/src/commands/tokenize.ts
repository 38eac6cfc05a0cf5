// `llamats tokenize -t MODEL [--bos] [--eos] [-p TEXT | --jsonl] [--pieces]` and
// `llamats detokenize -t MODEL (--ids 1,2,3 | --ids-file FILE | --ids -)`. MODEL is a
// SentencePiece `tokenizer.model`, a `.gguf` file (its tokenizer.ggml.* metadata) or
// llama2.c's `tokenizer.bin` (@llamats/formats loadTokenizer).
// Output: `-p` prints the ids comma-separated on one line (the form --ids takes), plus, with
// --pieces, a JSON array of the pieces on a second line (with --json: one line
// {"ids": [...]}, plus "pieces" with --pieces); `--jsonl` reads `{"text": ...}` lines
// on stdin and writes one `{"ids": [...]}` line each, in order; with neither, all of stdin is
// one text. detokenize prints the decoded text and a newline.

import type { Command } from "commander";
import { createInterface } from "node:readline";
import { LlamatsError } from "@llamats/tensor";
import { loadTokenizer } from "@llamats/formats";
import type { Tokenizer } from "@llamats/tokenizer";
import { addIdsOptions, requireIds, type IdsCliOptions } from "../ids.js";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function tokenizeJsonl(tok: Tokenizer, bos: boolean, eos: boolean): Promise<void> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  const out: string[] = [];
  const flush = (): void => {
    if (out.length) process.stdout.write(out.join(""));
    out.length = 0;
  };
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new LlamatsError(`stdin line ${lineNo}: not JSON`);
    }
    const text = (row as { text?: unknown } | null)?.text;
    if (typeof text !== "string") throw new LlamatsError(`stdin line ${lineNo}: expected {"text": string}`);
    out.push(JSON.stringify({ ids: tok.encode(text, { bos, eos }) }) + "\n");
    if (out.length >= 256) flush();
  }
  flush();
}

export function register(program: Command): void {
  program
    .command("tokenize")
    .description("text -> SentencePiece token ids")
    .requiredOption("-t, --tokenizer <MODEL>", "tokenizer.model, .gguf file or llama2.c tokenizer.bin")
    .option("--bos", "prepend BOS", false)
    .option("--eos", "append EOS", false)
    .option("-p, --prompt <TEXT>", "the text (otherwise stdin)")
    .option("--jsonl", 'stdin lines {"text": ...} -> stdout lines {"ids": [...]}', false)
    .option("--pieces", "with -p or stdin text: also print the pieces as a JSON array", false)
    .option("--json", 'with -p or stdin text: one JSON line {"ids": [...]} ({"ids", "pieces"} with --pieces)', false)
    .action(async (o: { tokenizer: string; bos: boolean; eos: boolean; prompt?: string; jsonl: boolean; pieces: boolean; json: boolean }) => {
      if (o.jsonl && o.prompt !== undefined) throw new LlamatsError("tokenize: give -p TEXT or --jsonl, not both");
      const tok = loadTokenizer(o.tokenizer);
      if (o.jsonl) {
        await tokenizeJsonl(tok, o.bos, o.eos);
        return;
      }
      const text = o.prompt ?? (await readStdin());
      const ids = tok.encode(text, { bos: o.bos, eos: o.eos });
      if (o.json) {
        process.stdout.write(JSON.stringify(o.pieces ? { ids, pieces: ids.map((id) => tok.idToPiece(id)) } : { ids }) + "\n");
        return;
      }
      process.stdout.write(ids.join(",") + "\n");
      if (o.pieces) process.stdout.write(JSON.stringify(ids.map((id) => tok.idToPiece(id))) + "\n");
    });

  const detok = program
    .command("detokenize")
    .description("SentencePiece token ids -> text")
    .requiredOption("-t, --tokenizer <MODEL>", "tokenizer.model, .gguf file or llama2.c tokenizer.bin");
  addIdsOptions(detok)
    .action((o: { tokenizer: string } & IdsCliOptions) => {
      const tok = loadTokenizer(o.tokenizer);
      process.stdout.write(tok.decode(requireIds(o, tok.vocabSize)) + "\n");
    });
}
