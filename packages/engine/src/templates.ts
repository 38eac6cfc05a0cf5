// Prompt templates of the Chinese-LLaMA-Alpaca project (CHINESE-LLAMA-ALPACA.md §4 and §6).
// - raw: the text itself (continuation, for the LLaMA base models).
// - alpaca: inference_hf.py's single-turn template (taken from llama.cpp's -ins mode), with
//   `input` appended to the instruction after a '\n' exactly as the script does.
// - chat: the gradio demo's multi-turn history. Decision on its quirks: we COPY them by
//   default (leading '\n', no blank line after the preamble, the trailing "\n " after
//   "### Response: ", truncation to the last max_memory characters) because the Alpaca models
//   were used and judged with exactly this string; `quirks: false` gives a cleaned-up variant
//   (no leading newline, a blank line after the preamble, no trailing space, truncation only at
//   turn boundaries so an instruction is never cut in half).
// Characters are counted as Python does: code points, not UTF-16 units.

export const ALPACA_PREAMBLE =
  "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

/** Default system prompt: the Alpaca preamble. */
export const DEFAULT_SYSTEM_PROMPT = ALPACA_PREAMBLE;

export type TemplateName = "raw" | "alpaca";

/** inference_hf.py's generate_prompt(): the Alpaca template around an instruction. */
export function alpacaPrompt(instruction: string, input?: string, systemPrompt: string = ALPACA_PREAMBLE): string {
  const full = input ? `${instruction}\n${input}` : instruction;
  return `${systemPrompt}\n\n### Instruction:\n\n${full}\n\n### Response:\n\n`;
}

/** A prompt built with a named template. */
export function applyTemplate(template: TemplateName, text: string, opts: { input?: string; systemPrompt?: string } = {}): string {
  if (template === "raw") return text;
  return alpacaPrompt(text, opts.input, opts.systemPrompt);
}

/** inference_hf.py's response extraction: the text after the first "### Response:", stripped. */
export function extractResponse(decoded: string): string {
  const parts = decoded.split("### Response:");
  return (parts.length > 1 ? parts[1] : decoded).trim();
}

export interface ChatTurn {
  readonly user: string;
  /** "" for the turn being answered. */
  readonly assistant: string;
}

export interface ChatPromptOptions {
  /** Keep only the last maxMemory characters of the history (gradio_demo's --max_memory, 256). */
  readonly maxMemory?: number;
  readonly systemPrompt?: string;
  /** Reproduce gradio_demo.py's string byte for byte (default true). */
  readonly quirks?: boolean;
}

/** The gradio demo's multi-turn prompt. The last turn normally has assistant = "". */
export function chatPrompt(history: readonly ChatTurn[], opts: ChatPromptOptions = {}): string {
  const maxMemory = opts.maxMemory ?? 256;
  const system = opts.systemPrompt ?? ALPACA_PREAMBLE;
  const turns = history.map(
    (t) => "### Instruction:\n" + t.user + "\n\n" + "### Response: " + t.assistant + (t.assistant !== "" ? "\n\n" : ""),
  );
  if (opts.quirks ?? true) {
    const hist = lastChars(turns.join(""), maxMemory);
    return "\n" + system + "\n" + hist + "\n ";
  }
  // Cleaned variant: drop whole old turns until the rest fits (always keep the last turn).
  let kept = turns.slice();
  while (kept.length > 1 && codePointLength(kept.join("")) > maxMemory) kept = kept.slice(1);
  return system + "\n\n" + kept.join("");
}

/** Python's s[-n:] on code points (so n = 0 keeps everything, as in Python). */
export function lastChars(s: string, n: number): string {
  const cps = Array.from(s);
  if (n <= 0) return cps.slice(-n).join("");
  return cps.length <= n ? s : cps.slice(cps.length - n).join("");
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
