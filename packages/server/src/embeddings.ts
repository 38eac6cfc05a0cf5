// POST /v1/embeddings as the seed defines them (CHINESE-LLAMA-ALPACA.md §7): the last hidden
// state after the final RMSNorm, mean-pooled over all tokens including BOS, L2-normalised.
// One `data` entry per input (the seed's single entry holding a nested list for a list input
// is a bug we do not copy). Strings get BOS as the seed's tokenizer call adds it; token-id
// inputs are used as given. `encoding_format: "base64"` is the little-endian float32 bytes.

import type { FastifyReply, FastifyRequest } from "fastify";
import { meanPoolNormalize } from "@llamats/engine";
import { ApiError, badRequest } from "./errors.js";
import type { ServerCore } from "./core.js";

type Body = { model?: string; input: string | string[] | number[] | number[][]; encoding_format?: "float" | "base64"; dimensions?: number };

export async function handleEmbeddings(core: ServerCore, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { model, pool } = core.ready();
  const body = req.body as Body;
  core.checkModel(body.model);
  const dim = model.config.embeddingLength;
  if (body.dimensions !== undefined && body.dimensions !== dim) throw badRequest(`dimensions ${body.dimensions}: this model's embeddings have ${dim}`, "dimensions");
  const raw = body.input;
  const list: (string | number[])[] = typeof raw === "string" ? [raw] : typeof raw[0] === "number" ? [raw as number[]] : (raw as (string | number[])[]);
  const nCtx = pool.slots[0].seq.nCtx;
  const inputs = list.map((x, i) => {
    const ids = typeof x === "string" ? model.tokenize(x, { bos: true }) : core.checkIds(model, x, list.length > 1 ? `input[${i}]` : "input");
    if (ids.length > nCtx) throw badRequest(`input${list.length > 1 ? `[${i}]` : ""} has ${ids.length} tokens; the context is ${nCtx}`, "input", "context_length_exceeded");
    return ids;
  });
  if (!pool.canAdmit(1)) {
    reply.header("retry-after", "1");
    throw new ApiError(503, "server busy: every sequence is in use and the queue is full; retry later", "overloaded_error", null, "server_overloaded");
  }
  const ac = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) ac.abort("client-closed");
  };
  reply.raw.on("close", onClose);
  core.inflight.add(ac);
  try {
    const slot = await pool.acquire(inputs[0], ac.signal);
    const vectors: Float32Array[] = [];
    try {
      for (const ids of inputs) vectors.push(meanPoolNormalize(await slot.seq.embed(ids, ac.signal), ids.length, dim));
    } finally {
      pool.release(slot);
    }
    const tokens = inputs.reduce((a, x) => a + x.length, 0);
    await reply.send({
      object: "list",
      data: vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: body.encoding_format === "base64" ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") : Array.from(v),
      })),
      model: core.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  } finally {
    core.inflight.delete(ac);
    reply.raw.off("close", onClose);
  }
}
