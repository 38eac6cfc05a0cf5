// A Sequence: one conversation's KV cache and generation state over a model's shared weights.
// Every evaluation goes through the model's BatchScheduler, so sequences that generate at the
// same time share each forward step (one read of the weights for all of them). A sequence
// runs one generation at a time; several sequences run concurrently.
//   generate / generateIds   as LlamaModel's (text pieces / ids), on this sequence's cache
//   evaluate(tokens, opts)   logits of the last token (or hidden states), async
//   embed(ids)               final-normed hidden states (nTokens, dim), cache left empty
//   reset() / dispose()      forget the tokens / give the cache back

import { LlamatsError } from "@llamats/tensor";
import type { KVCache } from "@llamats/model";
import { generateIdStream, generateText, type GenerateOptions, type GenerationSession, type GenerationStats, type LogitsRunner, type TextCodec } from "./generate.js";
import type { BatchScheduler, EvalWant } from "./scheduler.js";

/** What a sequence needs from its model. */
export interface SequenceHost {
  readonly scheduler: BatchScheduler;
  readonly vocabSize: number;
  /** The text codec (throws when the model has no tokenizer). */
  codec(): TextCodec;
  readonly eosId: number | undefined;
  release(seq: Sequence): void;
}

export class Sequence {
  /** Statistics of the last generate(), once it has finished or been cancelled. */
  lastStats: GenerationStats | undefined;
  /** Ids held by the KV cache, in order (the generation prefix cache). */
  readonly session: GenerationSession = { cached: [] };
  private busy = false;
  private disposed = false;

  constructor(private readonly host: SequenceHost, readonly cache: KVCache, readonly id: number) {}

  /** KV cache capacity in tokens. */
  get nCtx(): number {
    return this.cache.nCtx;
  }

  /** Tokens currently held by the KV cache. */
  get nPast(): number {
    return this.cache.length;
  }

  get isGenerating(): boolean {
    return this.busy;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Evaluate tokens at pos.. (default: after what the cache holds) in the next batch step.
   * want "logits" (default): the last token's logits (vocab); "all": every token's logits
   * (nTokens, vocab); "hidden": the final-normed hidden states (nTokens, dim); "none": an
   * empty array. Afterwards the cache holds the ids before pos plus these tokens, and a
   * following generate() reuses them as a prompt prefix.
   */
  async evaluate(tokens: readonly number[], opts: { pos?: number; want?: EvalWant; signal?: AbortSignal } = {}): Promise<Float32Array> {
    this.checkUsable();
    if (this.busy) throw new LlamatsError("evaluate: this sequence is generating");
    const pos = opts.pos ?? this.cache.length;
    const before = this.session.cached.length >= pos ? this.session.cached.slice(0, pos) : undefined;
    this.session.cached = []; // until the evaluation is done
    const out = await this.host.scheduler.submit({ cache: this.cache, tokens, pos, want: opts.want ?? "logits", signal: opts.signal });
    if (before) this.session.cached = [...before, ...tokens];
    return out;
  }

  /** The final-normed hidden states (nTokens, dim) of ids from position 0; the cache is emptied after. */
  async embed(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    this.checkUsable();
    if (ids.length > this.cache.nCtx) throw new LlamatsError(`input of ${ids.length} tokens does not fit the context of ${this.cache.nCtx}`);
    this.session.cached = [];
    try {
      return await this.host.scheduler.submit({ cache: this.cache, tokens: ids, pos: 0, want: "hidden", signal });
    } finally {
      this.cache.reset();
    }
  }

  /** Stream the continuation of `prompt` as text pieces; see LlamaModel.generate. */
  async *generate(prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    this.enter();
    try {
      yield* generateText(this.host.codec(), this.runner(), this.session, prompt, opts, (s) => (this.lastStats = s));
    } finally {
      this.busy = false;
    }
  }

  /** Token-level generation; see LlamaModel.generateIds. */
  async *generateIds(promptIds: readonly number[], opts: GenerateOptions & { eosId?: number } = {}): AsyncGenerator<number, void, undefined> {
    this.enter();
    try {
      const eosId = "eosId" in opts ? opts.eosId : this.host.eosId;
      yield* generateIdStream(this.runner(), this.session, promptIds, { ...opts, eosId }, (s) => (this.lastStats = s));
    } finally {
      this.busy = false;
    }
  }

  /** Forget the tokens (empties the KV cache). */
  reset(): void {
    if (this.busy) throw new LlamatsError("reset: this sequence is generating");
    this.cache.reset();
    this.session.cached = [];
  }

  /** Give the sequence back to its model (its KV cache is released). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.release(this);
  }

  private enter(): void {
    this.checkUsable();
    if (this.busy) throw new LlamatsError("generate: this sequence is already generating (create another sequence to run several at once)");
    this.busy = true;
  }

  private checkUsable(): void {
    if (this.disposed) throw new LlamatsError("this sequence has been disposed");
  }

  private runner(): LogitsRunner {
    const { scheduler, vocabSize } = this.host;
    const cache = this.cache;
    return {
      vocabSize,
      nCtx: cache.nCtx,
      evalLast: (tokens, pos, signal) => scheduler.submit({ cache, tokens, pos, want: "logits", signal }),
    };
  }
}
