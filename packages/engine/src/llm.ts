// LlamaModel: the research / application API over one loaded model. It owns a backend, the
// read-only weights, the run state (scratch) and the batch scheduler through which every
// sequence's evaluations run (the decode steps of concurrent sequences share one forward).
//   tokenize / detokenize    text <-> ids with the model's SentencePiece tokenizer
//   forward(tokens, {pos})   logits (a copy) of the last token, or of all with logits: "all"
//                            (synchronous, on the default sequence)
//   generate(prompt, opts)   an async iterator of text pieces (see generate.ts), default sequence
//   generateIds(ids, opts)   the same at token level (no tokenizer needed)
//   reset()                  forget the default sequence (empties its KV cache)
//   createSequence()         another sequence with its own KV cache (sequence.ts); generations
//                            on different sequences run concurrently, batched step by step
//   lastStats                speed and stop reason of the last generate() on the default sequence

import { LlamatsError, parseKVCacheType, type Backend, type KVCacheType, type LlamaConfig } from "@llamats/tensor";
import { forward as modelForward, type Captured, type KVCache, type LlamaWeights, type RunState } from "@llamats/model";
import type { Tokenizer } from "@llamats/tokenizer";
import type { GenerateOptions, GenerationStats, TextCodec } from "./generate.js";
import { BatchScheduler, type BatchEvaluator } from "./scheduler.js";
import { Sequence, type SequenceHost } from "./sequence.js";

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
  /**
   * A device that runs the forward steps itself, asynchronously (the gpu.js backend): the
   * scheduler's evaluator, the cache release hook and its teardown. Without it the steps run
   * forwardBatch on `backend`.
   */
  readonly device?: {
    readonly evaluate: BatchEvaluator;
    releaseCache(cache: KVCache): void;
    dispose(): Promise<void> | void;
  };
}

export interface CreateSequenceOptions {
  /** KV cache size in tokens (default: the model's nCtx). */
  readonly nCtx?: number;
  /** KV cache storage type (default: the model's, loadModel's cacheType). */
  readonly cacheType?: KVCacheType | string;
}

export class LlamaModel {
  readonly path: string;
  readonly format: string;
  readonly config: LlamaConfig;
  readonly backend: Backend;
  /** Every evaluation of every sequence goes through this scheduler (one forward per step). */
  readonly scheduler: BatchScheduler;
  private readonly tok: Tokenizer | undefined;
  private readonly weights: LlamaWeights;
  private readonly state: RunState;
  private readonly host: SequenceHost;
  private mainSeq: Sequence | undefined;
  private readonly live = new Set<Sequence>();
  private nextSeqId = 1;
  private disposed = false;
  private readonly device: LlamaModelParts["device"];
  /** Settles when close() has released the device. */
  private closing: Promise<void> = Promise.resolve();

  constructor(parts: LlamaModelParts) {
    this.path = parts.path;
    this.format = parts.format;
    this.config = parts.config;
    this.backend = parts.backend;
    this.tok = parts.tokenizer;
    this.weights = parts.weights;
    this.state = parts.state;
    this.device = parts.device;
    this.scheduler = new BatchScheduler(this.weights, this.state, { evaluate: parts.device?.evaluate });
    const model = this;
    this.host = {
      scheduler: this.scheduler,
      vocabSize: this.config.vocabSize,
      codec: () => tokenizerCodec(model.tokenizer),
      get eosId() {
        return model.tok?.eosId;
      },
      release: (seq) => {
        this.live.delete(seq);
        this.device?.releaseCache(seq.cache);
      },
    };
  }

  /** Statistics of the last generate() on the default sequence, once it has finished or been cancelled. */
  get lastStats(): GenerationStats | undefined {
    return this.mainSeq?.lastStats;
  }

  /**
   * A new sequence with its own KV cache over the shared weights. Generations on different
   * sequences may run at the same time; their steps are batched. dispose() it when done.
   */
  createSequence(opts: CreateSequenceOptions = {}): Sequence {
    this.checkUsable();
    const nCtx = opts.nCtx ?? this.state.nCtx;
    if (!Number.isInteger(nCtx) || nCtx < 1) throw new LlamatsError(`context size ${nCtx}: want a positive integer`);
    const type = opts.cacheType === undefined ? this.state.cacheType : parseKVCacheType(opts.cacheType);
    const seq = new Sequence(this.host, this.state.newCache(nCtx, type), this.nextSeqId++);
    this.live.add(seq);
    return seq;
  }

  /** Sequences created by createSequence() and not yet disposed. */
  get sequenceCount(): number {
    return this.live.size;
  }

  /** Bytes of KV cache held by the default sequence and the live sequences. */
  get kvBytes(): number {
    let n = this.mainSeq ? this.mainSeq.cache.byteLength : 0;
    for (const s of this.live) n += s.cache.byteLength;
    return n;
  }

  /** The sequence that forward(), generate() and reset() work on (its KV cache is state.cache). */
  get defaultSequence(): Sequence {
    this.checkUsable();
    this.mainSeq ??= new Sequence(this.host, this.state.cache, 0);
    return this.mainSeq;
  }

  /** The model's tokenizer; a LlamatsError when the file carried none (llama2.c). */
  get tokenizer(): Tokenizer {
    if (!this.tok) throw new LlamatsError(`${this.path}: this model has no tokenizer (use token ids, or pass tokenizerPath)`);
    return this.tok;
  }

  get hasTokenizer(): boolean {
    return this.tok !== undefined;
  }

  /** KV cache storage type of the default sequence (and of others, unless created with another). */
  get cacheType(): KVCacheType {
    return this.state.cacheType;
  }

  /** KV cache capacity in tokens (of each sequence, unless created with another). */
  get nCtx(): number {
    return this.state.nCtx;
  }

  /** Tokens currently held by the default sequence's KV cache. */
  get nPast(): number {
    return this.mainSeq ? this.mainSeq.cache.length : 0;
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
    if (this.device) throw new LlamatsError("forward: this model runs on the gpu backend, which is asynchronous: use forwardAsync()");
    const seq = this.defaultSequence;
    if (seq.isGenerating) throw new LlamatsError("forward: the default sequence is generating");
    const cache = seq.cache;
    const pos = opts.pos ?? cache.length;
    if (pos < cache.length) cache.truncate(pos);
    seq.session.cached = []; // the generation prefix cache no longer describes the KV cache
    const out = modelForward(this.weights, this.state, tokens, pos, { capture: opts.capture, logits: opts.logits ?? "last" });
    return opts.logits === "all" ? out : Float32Array.from(out);
  }

  /**
   * forward() for every backend, the asynchronous ones (gpu) included: on the CPU backends it
   * is forward() itself; on a device it runs through the scheduler on the default sequence.
   * Captures (hidden states, attention) are CPU-only.
   */
  async forwardAsync(tokens: readonly number[] | Int32Array, opts: ModelForwardOptions = {}): Promise<Float32Array> {
    if (!this.device) return this.forward(tokens, opts);
    if (opts.capture) throw new LlamatsError("forward: captures (hidden states, attention) are not available on the gpu backend");
    return this.defaultSequence.evaluate([...tokens], { pos: opts.pos, want: opts.logits === "all" ? "all" : "logits" });
  }

  /**
   * Stream the continuation of `prompt` as text pieces (never half a UTF-8 character).
   * Stops at EOS, maxTokens, a stop string, a full context or opts.signal; `lastStats` then
   * holds the speeds. The KV cache is reused for the part of the prompt it already holds.
   */
  async *generate(prompt: string, opts: GenerateOptions = {}): AsyncGenerator<string, void, undefined> {
    yield* this.defaultSequence.generate(prompt, opts);
  }

  /**
   * Token-level generation from prompt ids (BOS included if wanted): yields each new id.
   * Works without a tokenizer (llama2.c models); stops at `eosId` when given (default: the
   * tokenizer's EOS, none without a tokenizer), maxTokens, a full context or opts.signal.
   */
  async *generateIds(promptIds: readonly number[], opts: GenerateOptions & { eosId?: number } = {}): AsyncGenerator<number, void, undefined> {
    yield* this.defaultSequence.generateIds(promptIds, opts);
  }

  /** Forget the default sequence. */
  reset(): void {
    this.mainSeq?.reset();
  }

  dispose(): void {
    void this.close();
  }

  /** dispose(), resolved once a device (the gpu backend) has released everything it holds. */
  async close(): Promise<void> {
    if (this.disposed) return this.closing;
    this.disposed = true;
    this.backend.dispose();
    this.closing = Promise.resolve(this.device?.dispose());
    return this.closing;
  }

  private checkUsable(): void {
    if (this.disposed) throw new LlamatsError("this model has been disposed");
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
