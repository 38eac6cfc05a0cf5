// The batch scheduler: every evaluation request of every sequence of one model goes through
// here, and each step runs the requests pending at that moment as ONE forwardBatch, so the
// weights are read once per step for all running sequences (llama-server's continuous
// batching). A step holds at most `stepTokens` rows: single-token (decode) requests first,
// then prompts in arrival order, a long prompt in chunks over several steps — so a running
// stream never waits for a whole long prompt to be prefilled.
//
// Steps run on the event loop (setImmediate), synchronously inside, so a request submitted
// while the results of the previous step are being consumed joins the next step. A sequence
// that just got its logits needs an event-loop turn or two (sampling, the consumer) to ask for
// the next token, so a step waits up to MAX_WAIT_TURNS turns for those before it runs.

import { LlamatsError } from "@llamats/tensor";
import { forwardBatch, type BatchItem, type BatchResult, type KVCache, type LlamaWeights, type RunState } from "@llamats/model";

/**
 * What runs one step: @llamats/model's forwardBatch on the CPU backends; an asynchronous one
 * for a device whose results come back later (the gpu.js backend). A step never overlaps the
 * next: an asynchronous step holds the scheduler until it resolves.
 */
export type BatchEvaluator = (items: readonly BatchItem[]) => BatchResult[] | Promise<BatchResult[]>;

/** What a request wants back once its last token has been evaluated. */
export type EvalWant = "logits" | "all" | "hidden" | "none";

export interface EvalRequest {
  readonly cache: KVCache;
  readonly tokens: readonly number[];
  /** Position of tokens[0] (rows from here on are overwritten). */
  readonly pos: number;
  readonly want: EvalWant;
  /** Checked before each step: an aborted request is dropped with an EvalAbortedError. */
  readonly signal?: AbortSignal;
}

/** A request dropped because its signal fired before all its tokens were evaluated. */
export class EvalAbortedError extends LlamatsError {
  constructor() {
    super("evaluation aborted");
  }
}

/** One step as it ran: rows per request (tests and metrics look at the batch compositions). */
export interface StepInfo {
  readonly rows: readonly number[];
  readonly ms: number;
}

const MAX_WAIT_TURNS = 2;

interface Pending {
  readonly req: EvalRequest;
  done: number; // tokens already evaluated
  hidden?: Float32Array;
  all?: Float32Array;
  resolve(v: Float32Array): void;
  reject(e: unknown): void;
}

export interface SchedulerOptions {
  /** Rows per step (default: the run state's maxBatch). */
  readonly stepTokens?: number;
  /** Called after every step. */
  readonly onStep?: (s: StepInfo) => void;
  /** Runs each step (default: forwardBatch over the weights and run state). */
  readonly evaluate?: BatchEvaluator;
}

export class BatchScheduler {
  readonly stepTokens: number;
  onStep: ((s: StepInfo) => void) | undefined;
  /** Steps run so far and rows evaluated in them. */
  steps = 0;
  rows = 0;
  private queue: Pending[] = [];
  private scheduled = false;
  /** Caches whose logits the last step delivered: likely to come back with their next token. */
  private comingBack = new Set<KVCache>();
  private waited = 0;
  private readonly evaluate: BatchEvaluator;

  constructor(private readonly weights: LlamaWeights, private readonly state: RunState, opts: SchedulerOptions = {}) {
    this.evaluate = opts.evaluate ?? ((items) => forwardBatch(this.weights, this.state, items));
    const n = opts.stepTokens ?? state.maxBatch;
    if (!Number.isInteger(n) || n < 1) throw new LlamatsError(`step tokens ${n}: want a positive integer`);
    this.stepTokens = n;
    this.onStep = opts.onStep;
  }

  /** Requests waiting for (the rest of) their evaluation. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Evaluate tokens of one sequence at pos.. in the next step(s). Resolves with the last
   * token's logits (vocab), every token's logits (nTokens, vocab) for "all", the final-normed
   * hidden states (nTokens, dim), or an empty array.
   * The cache's rows from pos on are dropped now. One request per cache at a time.
   */
  submit(req: EvalRequest): Promise<Float32Array> {
    const cfg = this.weights.config;
    const n = req.tokens.length;
    if (n === 0) return Promise.reject(new LlamatsError("evaluate: no tokens"));
    if (this.queue.some((p) => p.req.cache === req.cache)) {
      return Promise.reject(new LlamatsError("evaluate: this sequence already has an evaluation in flight"));
    }
    try {
      // Validate here, so one bad request never fails a step shared with others.
      if (req.pos < req.cache.length) req.cache.truncate(req.pos);
      req.cache.checkRoom(req.pos, n);
      for (let i = 0; i < n; i++) {
        const id = req.tokens[i];
        if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) {
          throw new LlamatsError(`token id ${id} at index ${i} is outside the vocabulary (0 .. ${cfg.vocabSize - 1})`);
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { req, done: 0, resolve, reject };
      if (req.want === "hidden") p.hidden = new Float32Array(n * cfg.embeddingLength);
      if (req.want === "all") p.all = new Float32Array(n * cfg.vocabSize);
      this.queue.push(p);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.tick());
  }

  private tick(): void {
    const missing = [...this.comingBack].some((c) => !this.queue.some((p) => p.req.cache === c));
    if (missing && this.waited < MAX_WAIT_TURNS) {
      this.waited++;
      setImmediate(() => this.tick());
      return;
    }
    this.waited = 0;
    const pending = this.step();
    const next = () => {
      this.scheduled = false;
      this.schedule();
    };
    if (pending) void pending.then(next);
    else next();
  }

  /** One forwardBatch over what is pending now (a Promise when the evaluator is asynchronous). */
  private step(): Promise<void> | undefined {
    this.queue = this.queue.filter((p) => {
      if (!p.req.signal?.aborted) return true;
      p.reject(new EvalAbortedError());
      return false;
    });
    if (this.queue.length === 0) return;
    // Decode requests (one token left) first, then prompts in arrival order.
    const order = [...this.queue.filter((p) => left(p) === 1), ...this.queue.filter((p) => left(p) > 1)];
    let budget = this.stepTokens;
    const picked: { p: Pending; n: number }[] = [];
    for (const p of order) {
      if (budget === 0) break;
      const n = Math.min(left(p), budget);
      picked.push({ p, n });
      budget -= n;
    }
    const items: BatchItem[] = picked.map(({ p, n }) => {
      const r = p.req;
      const last = p.done + n === r.tokens.length;
      return {
        cache: r.cache, tokens: r.tokens.slice(p.done, p.done + n), pos: r.pos + p.done,
        ropeLength: r.pos + r.tokens.length, // chunks rotate as the whole prompt would
        logits: r.want === "all" ? "all" : last && r.want === "logits" ? "last" : "none", hidden: r.want === "hidden",
      };
    });
    const t = performance.now();
    const failed = (err: unknown) => {
      // Requests were validated on submit; anything here is unexpected: fail those involved.
      for (const { p } of picked) p.reject(err);
      this.queue = this.queue.filter((p) => !picked.some((x) => x.p === p));
    };
    let results;
    try {
      results = this.evaluate(items);
    } catch (err) {
      failed(err);
      return;
    }
    if (results instanceof Promise) return results.then((r) => this.finish(picked, r, t), failed);
    this.finish(picked, results, t);
    return undefined;
  }

  private finish(picked: { p: Pending; n: number }[], results: BatchResult[], t: number): void {
    this.steps++;
    this.rows += picked.reduce((a, it) => a + it.n, 0);
    const finished = new Set<Pending>();
    picked.forEach(({ p, n }, i) => {
      if (p.hidden) p.hidden.set(results[i].hidden!, p.done * this.weights.config.embeddingLength);
      if (p.all) p.all.set(results[i].logits, p.done * this.weights.config.vocabSize);
      p.done += n;
      if (p.done === p.req.tokens.length) finished.add(p);
    });
    this.queue = this.queue.filter((p) => !finished.has(p));
    this.comingBack = new Set([...finished].filter((p) => p.req.want === "logits").map((p) => p.req.cache));
    this.onStep?.({ rows: picked.map((x) => x.n), ms: performance.now() - t });
    picked.forEach(({ p }, i) => {
      if (!finished.has(p)) return;
      p.resolve(p.req.want === "logits" ? results[i].logits : p.hidden ?? p.all ?? new Float32Array(0));
    });
  }
}

function left(p: Pending): number {
  return p.req.tokens.length - p.done;
}
