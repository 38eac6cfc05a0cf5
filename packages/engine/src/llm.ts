// LlamaModel: the research / application API over one loaded model. It owns a backend, the
// read-only weights and one run state (KV cache + scratch): one sequence at a time.
//   tokenize / detokenize    text <-> ids with the model's SentencePiece tokenizer
//   forward(tokens, {pos})   logits (a copy) of the last token, or of all with logits: "all"
//   generate(prompt, opts)   an async iterator of text pieces (see generate.ts)
//   generateIds(ids, opts)   the same at token level (no tokenizer needed)
//   reset()                  forget the sequence (empties the KV cache)
//   lastStats                speed and stop reason of the last generate()

import { LlamatsError, type Backend } from "@llamats/tensor";
import { forward as modelForward, type Captured, type LlamaConfig, type LlamaWeights, type RunState } from "@llamats/model";
import type { Tokenizer } from "@llamats/tokenizer";
import { generateIdStream, generateText, type GenerateOptions, type GenerationSession, type GenerationStats, type LogitsRunner, type TextCodec } from "./generate.js";

export interface ModelForwardOptions {
  /** Position of the first token (default: right after what the KV cache holds). */
  readonly pos?: number;
  /** Capture per-layer hidden states and/or attention weights (see `captured`). */
  readonly capture?: { readonly hidden?: boolean; readonly attention?: boolean };
  /** "last" (default): (vocab) logits of the last token; "all": (nTokens, vocab). */
  readonly logits?: "last" | "all";
}

export interface LlamaModelParts {
  readonly path: string;
  readonly format: string;
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer | undefined;
  readonly backend: Backend;
  readonly weights: LlamaWeights;
  readonly state: RunState;
}

export class LlamaModel {
  readonly path: string;
  readonly format: string;
  readonly config: LlamaConfig;
  readonly backend: Backend;
  /** Statistics of the last generate(), once it has finished or been cancelled. */
  lastStats: GenerationStats | undefined;
  private readonly tok: Tokenizer | undefined;
  private readonly weights: LlamaWeights;
  private readonly state: RunState;
  private readonly session: GenerationSession = { cached: [] };
  private busy = false;
  private disposed = false;

  constructor(parts: LlamaModelParts) {
    this.path = parts.path;
    this.format = parts.format;
    this.config = parts.config;
    this.backend = parts.backend;
    this.tok = parts.tokenizer;
    this.weights = parts.weights;
    this.state = parts.state;
  }

  /** The model's tokenizer; a LlamatsError when the file carried none (llama2.c). */
  get tokenizer(): Tokenizer {
    if (!this.tok) throw new LlamatsError(`${this.path}: this model has no tokenizer (use token ids, or pass tokenizerPath)`);
    return this.tok;
  }

  get hasTokenizer(): boolean {
    return this.tok !== undefined;
  }

  /** KV cache capacity in tokens. */
  get nCtx(): number {
    return this.state.cache.nCtx;
  }

  /** Tokens currently held by the KV cache. */
  get nPast(): number {
    return this.state.cache.length;
  }

  /** What the last forward() captured (hidden states / attention weights), if asked. */
  get captured(): Captured {
    return this.state.captured;
  }

  tokenize(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { bos: opts.bos ?? false, eos: opts.eos ?? false });
  }

  detokenize(ids: ArrayLike<number>): string {
    return this.tokenizer.decode(ids);
  }

  /**
   * Run tokens through the model at positions pos.. (default: continuing the cached
   * sequence) and return a copy of the logits. A pos below what the cache holds rewinds it.
   */
  forward(tokens: readonly number[] | Int32Array, opts: ModelForwardOptions = {}): Float32Array {
    this.checkUsable();
    const pos = opts.pos ?? this.state.cache.length;
    if (pos < this.state.cache.length) this.state.cache.truncate(pos);
    this.session.cached = []; // the generation prefix cache no longer describes the KV cache
    const out = modelForward(this.weights, this.state, tokens, pos, { capture: opts.capture, logits: opts.logits ?? "last" });
    return opts.logits === "all" ? out : Float32Array.from(out);
  }

  /**
   * Stream the continuation of `prompt` as text pieces (never half a UTF-8 character).
   * Stops at EOS, maxTokens, a stop string, a full context or opts.signal; `lastStats` then
   * holds the speeds. The KV cache is reused for the part of the prompt it already holds.
   */
  async *generate(prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    this.checkUsable();
    if (this.busy) throw new LlamatsError("generate: this model is already generating (one sequence at a time)");
    this.busy = true;
    try {
      yield* generateText(this.codec(), this.runner(), this.session, prompt, opts, (s) => (this.lastStats = s));
    } finally {
      this.busy = false;
    }
  }

  /**
   * Token-level generation from prompt ids (BOS included if wanted): yields each new id.
   * Works without a tokenizer (llama2.c models); stops at `eosId` when given (default: the
   * tokenizer's EOS, none without a tokenizer), maxTokens, a full context or opts.signal.
   */
  async *generateIds(promptIds: readonly number[], opts: GenerateOptions & { eosId?: number } = {}): AsyncGenerator<number, void, undefined> {
    this.checkUsable();
    if (this.busy) throw new LlamatsError("generate: this model is already generating (one sequence at a time)");
    this.busy = true;
    try {
      const eosId = "eosId" in opts ? opts.eosId : this.tok?.eosId;
      yield* generateIdStream(this.runner(), this.session, promptIds, { ...opts, eosId }, (s) => (this.lastStats = s));
    } finally {
      this.busy = false;
    }
  }

  /** Forget the current sequence. */
  reset(): void {
    this.state.reset();
    this.session.cached = [];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.backend.dispose();
  }

  private checkUsable(): void {
    if (this.disposed) throw new LlamatsError("this model has been disposed");
  }

  private codec(): TextCodec {
    return tokenizerCodec(this.tokenizer);
  }

  private runner(): LogitsRunner {
    const { weights, state } = this;
    return {
      vocabSize: this.config.vocabSize,
      nCtx: state.cache.nCtx,
      evalLast: (tokens, pos) => {
        if (pos < state.cache.length) state.cache.truncate(pos);
        return Float32Array.from(modelForward(weights, state, tokens, pos, { logits: "last" }));
      },
    };
  }
}

/** The generation loop's view of a SentencePiece tokenizer. */
export function tokenizerCodec(tok: Tokenizer): TextCodec {
  return {
    bosId: tok.bosId,
    eosId: tok.eosId,
    encode: (text, o) => tok.encode(text, { bos: o.bos }),
    decode: (ids) => tok.decode(ids),
    streamDecoder: (afterText) => {
      const d = tok.streamingDecoder();
      // A continuation keeps the space of its first piece (as the gradio demo does).
      if (afterText) d.markVisible();
      return d;
    },
  };
}
