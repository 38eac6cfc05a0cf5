// `llamats chat -m MODEL`: interactive multi-turn chat with the gradio demo's prompt
// (CHINESE-LLAMA-ALPACA.md §6: Alpaca instruction/response turns, the last --max-memory
// characters of history, its quirks kept; see @llamats/engine templates.ts). Reads lines
// from stdin (a terminal or a pipe); "/reset" clears the history, Ctrl-D (end of input) quits,
// Ctrl-C stops the reply being generated. Replies go to stdout, prompts and speeds to stderr.
// Sampling defaults are the gradio demo's: temperature 0.5, top-k 40, top-p 0.9, repetition
// penalty 1.1, 512 new tokens.

import { createInterface } from "node:readline";
import type { Command } from "commander";
import { chatPrompt, loadModel, type ChatTurn, type LlamaModel } from "@llamats/engine";
import { addModelOptions, addSamplingOptions, loadOptionsFrom, parseIntArg, samplingFrom, type ModelCliOptions, type SamplingCliOptions } from "./model-options.js";
import { speedLine } from "./generate.js";
import { onStdoutClosed } from "../stdout.js";

interface ChatCliOptions extends ModelCliOptions, SamplingCliOptions {
  maxMemory: string;
  system?: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("chat")
    .description("interactive multi-turn chat (Alpaca template; /reset clears, Ctrl-D quits)")
    .option("--max-memory <chars>", "history kept in the prompt, in characters", "256")
    .option("--system <text>", "system prompt (default: the Alpaca preamble)")
    .option("--verbose", "print the speed line after each reply");
  addModelOptions(cmd);
  addSamplingOptions(cmd, { temp: 0.5, maxTokens: 512 });
  cmd.action(async (o: ChatCliOptions) => {
    const sampling = samplingFrom(o);
    const maxMemory = parseIntArg("--max-memory", o.maxMemory, 0);
    const model = await loadModel(o.model, loadOptionsFrom(o));
    try {
      await chatLoop(model, { sampling, maxMemory, systemPrompt: o.system, verbose: Boolean(o.verbose) });
    } finally {
      model.dispose();
    }
  });
}

async function chatLoop(
  model: LlamaModel,
  o: { sampling: ReturnType<typeof samplingFrom>; maxMemory: number; systemPrompt?: string; verbose: boolean },
): Promise<void> {
  const tty = Boolean(process.stdin.isTTY);
  const rl = createInterface({ input: process.stdin, terminal: tty && Boolean(process.stderr.isTTY), output: tty ? process.stderr : undefined });
  let history: ChatTurn[] = [];
  let current: AbortController | undefined;
  rl.on("SIGINT", () => {
    if (current) current.abort();
    else rl.close();
  });
  // Nobody reads the replies any more (`llamats chat ... | head`, EPIPE): stop the reply and
  // end the session as Ctrl-D would, instead of crashing.
  let outputGone = false;
  const offClosed = onStdoutClosed(() => {
    outputGone = true;
    current?.abort();
    rl.close();
  });
  if (tty) process.stderr.write("llamats chat: type a message; /reset clears the history, Ctrl-D quits.\n");
  const ask = (): void => {
    if (tty) process.stderr.write("> ");
  };
  ask();
  try {
    for await (const raw of rl) {
      if (outputGone) break;
      const line = raw.trim();
      if (line === "") {
        ask();
        continue;
      }
      if (line === "/reset") {
        history = [];
        model.reset();
        process.stderr.write("(history cleared)\n");
        ask();
        continue;
      }
      history.push({ user: line, assistant: "" });
      const prompt = chatPrompt(history, { maxMemory: o.maxMemory, systemPrompt: o.systemPrompt });
      current = new AbortController();
      let reply = "";
      for await (const piece of model.generate(prompt, { ...o.sampling, stop: ["### Instruction:"], signal: current.signal })) {
        const text = reply === "" ? piece.trimStart() : piece;
        reply += text;
        process.stdout.write(text);
      }
      current = undefined;
      process.stdout.write("\n");
      history[history.length - 1] = { user: line, assistant: reply.trim() };
      if (o.verbose) process.stderr.write(speedLine(model.lastStats) + "\n");
      ask();
    }
  } finally {
    offClosed();
  }
}
