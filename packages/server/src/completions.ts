// POST /v1/completions and POST /v1/chat/completions: request -> prompts and choice specs ->
// runChoice for every choice at once (each on its own slot, so their steps batch) -> one JSON
// reply, or SSE chunks as pieces arrive. Defaults are the seed's (CHINESE-LLAMA-ALPACA.md §7).

import { setMaxListeners } from "node:events";
import type { FastifyReply, FastifyRequest } from "fastify";
import { EvalAbortedError, type LlamaModel } from "@llamats/engine";
import { ApiError, badRequest } from "./errors.js";
import type { TokenLogprob } from "./logprobs.js";
import { tokenLogprob } from "./logprobs.js";
import { buildChatPrompt, normalizeMessages, seedCompletionPrompt } from "./prompt.js";
import { runChoice, type ChoiceResult, type ChoiceSpec } from "./run.js";
import { SseWriter } from "./sse.js";
import { newId, type AbortReason, type ServerCore } from "./core.js";

/** Most choices one request may ask for (prompts x n). */
const MAX_CHOICES = 16;

type Kind = "text" | "chat";

/** The seed's defaults per endpoint. */
const SEED_DEFAULTS: Record<Kind, { temperature: number; topP: number; topK: number; maxTokens: number; repeatPenalty: number }> = {
  text: { temperature: 0.1, topP: 0.75, topK: 40, maxTokens: 128, repeatPenalty: 1.0 },
  chat: { temperature: 0.7, topP: 1.0, topK: 40, maxTokens: 128, repeatPenalty: 1.0 },
};

// Loosely typed: the schema has checked types and ranges already.
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Prepared {
  readonly prompts: { ids: number[]; text: string }[];
  readonly specs: (ChoiceSpec & { echoText?: string; echoLogprobs?: boolean; promptIndex: number })[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly chatLogprobs: boolean;
  /** Extension: each choice also carries `token_ids` (always for a model without a tokenizer). */
  readonly tokenIds: boolean;
}

export async function handleCompletion(core: ServerCore, kind: Kind, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { model, pool } = core.ready();
  const body = req.body as Body;
  core.checkModel(body.model);
  const p = prepare(core, model, kind, body, pool.slots[0].seq.nCtx);
  if (!pool.canAdmit(p.specs.length)) {
    reply.header("retry-after", "1");
    throw new ApiError(503, "server busy: every sequence is in use and the queue is full; retry later", "overloaded_error", null, "server_overloaded");
  }
  const promptTokens = p.prompts.reduce((a, x) => a + x.ids.length, 0);
  core.metrics.promptTokens += promptTokens;
  (reply as unknown as { usageNote?: string }).usageNote = `prompt=${promptTokens}`;

  const ac = new AbortController();
  // Every choice waiting for a slot listens on this one signal: up to MAX_CHOICES listeners
  // is expected, not the leak node warns about past 10.
  setMaxListeners(MAX_CHOICES + 4, ac.signal);
  const onClose = () => {
    if (!reply.raw.writableFinished) ac.abort("client-closed" satisfies AbortReason);
  };
  reply.raw.on("close", onClose);
  core.inflight.add(ac);
  const ctx = { model, pool, signal: ac.signal, onTokens: (n: number) => core.metrics.addGenerated(n) };
  const id = newId(kind === "chat" ? "chatcmpl" : "cmpl");
  const created = Math.floor(Date.now() / 1000);
  const object = kind === "chat" ? "chat.completion" : "text_completion";
  const usage = (results: ChoiceResult[]) => {
    const completion = results.reduce((a, r) => a + r.completionTokens, 0);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  };
  try {
    if (p.stream) {
      reply.hijack();
      const sse = new SseWriter(reply.raw);
      sse.open();
      const base = { id, object: kind === "chat" ? "chat.completion.chunk" : "text_completion", created, model: core.modelId };
      const offsets = new Map<number, number>(); // completions: characters streamed so far per choice
      const chunk = (choices: unknown[], extra: object = {}) => sse.send({ ...base, system_fingerprint: null, choices, ...(p.includeUsage ? { usage: null } : {}), ...extra });
      if (kind === "chat") for (const s of p.specs) chunk([{ index: s.index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
      let results: ChoiceResult[];
      try {
        results = await all(ac, p.specs.map((s) => runSpec(ctx, model, s, {
          piece: (index, text, tokens, ids) => {
            if (kind === "chat") {
              chunk([{ index, delta: { content: text }, logprobs: p.chatLogprobs ? { content: tokens.map(chatLogprob), refusal: null } : null, finish_reason: null }]);
            } else {
              const off = offsets.get(index) ?? 0;
              offsets.set(index, off + text.length);
              chunk([{ index, text, logprobs: s.logprobs !== undefined ? textLogprobs(tokens, off) : null, finish_reason: null, ...(p.tokenIds ? { token_ids: ids } : {}) }]);
            }
          },
        })));
      } catch (err) {
        if (ac.signal.aborted && ac.signal.reason === "client-closed") return;
        sse.send(errorOf(err).body);
        sse.done();
        return;
      }
      if (ac.signal.aborted) {
        if (ac.signal.reason === "shutdown") sse.send(new ApiError(503, "server is shutting down", "server_error", null, "shutting_down").body);
        sse.done();
        return;
      }
      for (const r of results) {
        chunk([kind === "chat"
          ? { index: r.index, delta: {}, logprobs: null, finish_reason: r.finishReason }
          : { index: r.index, text: "", logprobs: null, finish_reason: r.finishReason }]);
      }
      if (p.includeUsage) sse.send({ ...base, system_fingerprint: null, choices: [], usage: usage(results) });
      sse.done();
      return;
    }
    const results = await all(ac, p.specs.map((s) => runSpec(ctx, model, s, { piece: () => {} })));
    if (ac.signal.aborted) {
      if (ac.signal.reason === "shutdown") throw new ApiError(503, "server is shutting down", "server_error", null, "shutting_down");
      reply.hijack(); // the client is gone: nothing to send
      reply.raw.destroy();
      return;
    }
    const choices = results.map((r) => {
      const s = p.specs[r.index];
      if (kind === "chat") {
        return {
          index: r.index,
          message: { role: "assistant", content: r.text, refusal: null },
          logprobs: p.chatLogprobs ? { content: r.tokens.map(chatLogprob), refusal: null } : null,
          finish_reason: r.finishReason,
          ...(p.tokenIds ? { token_ids: r.tokenIds } : {}),
        };
      }
      return {
        index: r.index, text: r.text, logprobs: s.logprobs !== undefined ? textLogprobs(r.tokens, 0) : null, finish_reason: r.finishReason,
        ...(p.tokenIds ? { token_ids: r.tokenIds } : {}),
      };
    });
    await reply.send({ id, object, created, model: core.modelId, system_fingerprint: null, choices, usage: usage(results) });
  } finally {
    core.inflight.delete(ac);
    reply.raw.off("close", onClose);
  }
}

/** Promise.all that stops the other choices when one fails. */
async function all<T>(ac: AbortController, ps: Promise<T>[]): Promise<T[]> {
  try {
    return await Promise.all(ps);
  } catch (err) {
    if (!ac.signal.aborted) ac.abort("failed");
    await Promise.allSettled(ps); // every slot is released before the reply goes out
    throw err;
  }
}

/** runChoice, first echoing the prompt (completions' echo) with its tokens' logprobs if asked. */
async function runSpec(ctx: Parameters<typeof runChoice>[0], model: LlamaModel, s: Prepared["specs"][number], sink: Parameters<typeof runChoice>[2]): Promise<ChoiceResult> {
  if (s.echoText === undefined) return runChoice(ctx, s, sink);
  let echoTokens: TokenLogprob[] = [];
  const r = await runChoice(ctx, s, sink, async (seq) => {
    if (s.echoLogprobs) {
      // Every prompt position's logits; the generation then reuses the evaluated prompt.
      const V = model.config.vocabSize;
      const all = await seq.evaluate(s.promptIds, { pos: 0, want: "all", signal: ctx.signal });
      const bos = model.hasTokenizer && s.promptIds[0] === model.tokenizer.bosId ? 1 : 0;
      for (let i = Math.max(1, bos); i < s.promptIds.length; i++) {
        echoTokens.push(tokenLogprob(model.hasTokenizer ? model.tokenizer : undefined, all.subarray((i - 1) * V, i * V), s.promptIds[i], s.logprobs ?? 0));
      }
    }
    sink.piece(s.index, s.echoText!, echoTokens, []);
  });
  r.text = s.echoText + r.text;
  r.tokens = [...echoTokens, ...r.tokens];
  echoTokens = [];
  return r;
}

function prepare(core: ServerCore, model: LlamaModel, kind: Kind, body: Body, nCtx: number): Prepared {
  const d = SEED_DEFAULTS[kind];
  const template = core.opts.template;
  const noTokenizer = (what: string, param: string) => badRequest(`this model has no tokenizer (llama2.c file): ${what}`, param, "no_tokenizer");
  const tok = model.hasTokenizer ? model.tokenizer : undefined;
  let prompts: { ids: number[]; text: string }[];
  if (kind === "chat") {
    if (Array.isArray(body.tools) && body.tools.length) throw badRequest("tools (function calling) are not supported by this server", "tools");
    if (body.response_format && body.response_format.type !== "text") throw badRequest(`response_format "${body.response_format.type}" is not supported (only "text")`, "response_format");
    if (!tok) throw noTokenizer("chat needs text; use /v1/completions with token ids", "messages");
    const text = buildChatPrompt(normalizeMessages(body.messages), template ?? "alpaca");
    prompts = [{ ids: tok.encode(text, { bos: true }), text }];
  } else {
    if (typeof body.suffix === "string" && body.suffix !== "") throw badRequest("suffix (insertion) is not supported by this server", "suffix");
    const wrap = (t: string) => (template === "alpaca" ? seedCompletionPrompt(t) : t);
    const raw = body.prompt as string | string[] | number[] | number[][];
    const list: (string | number[])[] = typeof raw === "string" ? [raw] : typeof raw[0] === "number" ? [raw as number[]] : (raw as (string | number[])[]);
    prompts = list.map((p, i) => {
      if (typeof p === "string") {
        if (!tok) throw noTokenizer("send the prompt as token ids", "prompt");
        const text = wrap(p);
        return { ids: tok.encode(text, { bos: true }), text };
      }
      const ids = core.checkIds(model, p, list.length > 1 ? `prompt[${i}]` : "prompt");
      return { ids, text: tok ? tok.decode(ids) : "" };
    });
  }
  const n = body.n ?? 1;
  if (body.best_of != null && body.best_of !== n) throw badRequest("best_of other than n is not supported", "best_of");
  if (prompts.length * n > MAX_CHOICES) throw badRequest(`${prompts.length} prompts x n=${n} is more than ${MAX_CHOICES} choices`, "n");
  prompts.forEach((p, i) => {
    if (p.ids.length >= nCtx) {
      throw badRequest(`This model's context is ${nCtx} tokens; the prompt${prompts.length > 1 ? ` [${i}]` : ""} has ${p.ids.length} (leave room for at least one new token)`, kind === "chat" ? "messages" : "prompt", "context_length_exceeded");
    }
  });
  const logitBias = new Map<number, number>();
  for (const [k, v] of Object.entries((body.logit_bias ?? {}) as Record<string, number>)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= model.config.vocabSize) throw badRequest(`logit_bias: "${k}" is not a token id of this model`, "logit_bias");
    logitBias.set(id, v);
  }
  let temperature: number = body.temperature ?? d.temperature;
  let topP: number = body.top_p ?? d.topP;
  if (topP === 0) {
    // OpenAI accepts top_p 0: only the most likely token survives, i.e. greedy.
    temperature = 0;
    topP = 1;
  }
  const stop: string[] = (body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop).filter((s: string) => s !== "");
  const seed: number = body.seed ?? Math.floor(Math.random() * 2 ** 31);
  const maxTokens: number = (kind === "chat" ? body.max_completion_tokens ?? body.max_tokens : body.max_tokens) ?? d.maxTokens;
  const chatLogprobs = kind === "chat" && body.logprobs === true;
  if (kind === "chat" && body.top_logprobs != null && !chatLogprobs) throw badRequest("top_logprobs needs logprobs: true", "top_logprobs");
  const logprobs: number | undefined = kind === "chat" ? (chatLogprobs ? body.top_logprobs ?? 0 : undefined) : body.logprobs ?? undefined;
  const echo = kind === "text" && body.echo === true;
  const specs: Prepared["specs"] = [];
  prompts.forEach((p, pi) => {
    for (let j = 0; j < n; j++) {
      specs.push({
        index: specs.length, promptIndex: pi, promptIds: p.ids, maxTokens,
        temperature, topK: body.top_k ?? d.topK, topP, repeatPenalty: body.repetition_penalty ?? d.repeatPenalty,
        seed: seed + j, // the n choices of one prompt differ; the same request seed repeats them
        stop, frequencyPenalty: body.frequency_penalty ?? 0, presencePenalty: body.presence_penalty ?? 0, logitBias,
        logprobs, trimStart: kind === "chat",
        echoText: echo ? p.text : undefined, echoLogprobs: echo && logprobs !== undefined,
      });
    }
  });
  return {
    prompts, specs, stream: body.stream === true, includeUsage: body.stream === true && body.stream_options?.include_usage === true, chatLogprobs,
    tokenIds: body.return_token_ids === true || !tok,
  };
}

function chatLogprob(t: TokenLogprob) {
  return { token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.top.map((x) => ({ token: x.token, logprob: x.logprob, bytes: x.bytes })) };
}

/** Completions' logprobs object; text_offset counts from `offset0` (characters of the choice text). */
function textLogprobs(tokens: readonly TokenLogprob[], offset0: number) {
  let off = offset0;
  const text_offset = tokens.map((t) => {
    const o = off;
    off += t.token.length;
    return o;
  });
  return {
    tokens: tokens.map((t) => t.token),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((x) => [x.token, x.logprob]))),
    text_offset,
  };
}

export function errorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof EvalAbortedError) return new ApiError(499, "request cancelled");
  return new ApiError(500, "internal server error", "server_error");
}
