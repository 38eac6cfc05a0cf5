// Log-probabilities for OpenAI's `logprobs` fields: log-softmax of the logits a token was
// drawn from (after logit_bias and the frequency / presence penalties, before temperature
// and the seed's repetition penalty), the chosen token's value and the top alternatives.

import type { LlamaModel } from "@llamats/engine";

type Tokenizer = LlamaModel["tokenizer"];

export interface TokenLogprob {
  readonly id: number;
  readonly token: string;
  readonly bytes: number[];
  readonly logprob: number;
  /** The `top` most likely tokens, most likely first. */
  readonly top: { token: string; bytes: number[]; logprob: number }[];
}

/** log-softmax value of `id` and the top `top` entries (tok undefined: tokens shown as "<id>"). */
export function tokenLogprob(tok: Tokenizer | undefined, logits: Float32Array, id: number, top: number): TokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const best: number[] = [];
  if (top > 0) {
    // A partial selection: keep the `top` largest ids (ties: lower id first).
    for (let i = 0; i < logits.length; i++) {
      if (best.length < top || logits[i] > logits[best[best.length - 1]]) {
        let j = best.length < top ? best.length : best.length - 1;
        best[j] = i;
        while (j > 0 && logits[best[j - 1]] < logits[best[j]]) {
          [best[j - 1], best[j]] = [best[j], best[j - 1]];
          j--;
        }
      }
    }
  }
  const entry = (i: number) => {
    const t = tokenText(tok, i);
    return { token: t.text, bytes: t.bytes, logprob: logits[i] - lse };
  };
  const e = entry(id);
  return { id, token: e.token, bytes: e.bytes, logprob: e.logprob, top: best.map(entry) };
}

/** The text of one token as OpenAI shows it ("▁" as a space; a byte token as its byte). */
export function tokenText(tok: Tokenizer | undefined, id: number): { text: string; bytes: number[] } {
  if (!tok) return { text: `<${id}>`, bytes: [] };
  const piece = tok.idToPiece(id);
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  if (m) {
    const b = parseInt(m[1], 16);
    return { text: b < 0x80 ? String.fromCharCode(b) : `bytes:\\x${m[1].toLowerCase()}`, bytes: [b] };
  }
  const text = piece.replace(/\u2581/g, " ");
  return { text, bytes: [...Buffer.from(text, "utf8")] };
}
