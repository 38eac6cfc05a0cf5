// Loading, shutdown and determinism on a real model: /health says "loading" until the model
// is in memory; close() ends streams still running after the grace period (an error event,
// then [DONE]); stories260K (llama2.c, no tokenizer: token ids in, token_ids out) at
// temperature 0 gives llama2.c's run.c reference ids and `llamats generate --ids`' ids, alone and
// batched with others.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadModel, type LlamaModel } from "@llamats/engine";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { startServer } from "@llamats/server";
import { cleanup, post, sseEvents, tinyModel } from "./helpers.js";

describe("server: lifecycle", function () {
  after(cleanup);

  it("/health is 503 loading until the model resolves, then ok; the API is 503 meanwhile", async () => {
    let resolve!: (m: LlamaModel) => void;
    const pending = new Promise<LlamaModel>((r) => (resolve = r));
    const h = await startServer({ model: pending, port: 0, log: () => {} });
    try {
      const a = await fetch(`${h.url}/health`);
      expect(a.status).to.equal(503);
      expect(await a.json()).to.deep.equal({ status: "loading" });
      const b = await post(`${h.url}/v1/completions`, { prompt: "x" });
      expect(b.status).to.equal(503);
      expect(b.json.error.code).to.equal("model_loading");
      resolve(await tinyModel());
      await h.ready;
      const c = await fetch(`${h.url}/health`);
      expect(c.status).to.equal(200);
    } finally {
      await h.close();
      h.core.model?.dispose();
    }
  });

  it("close(): new requests are refused, a stream past the grace period ends with an error event and [DONE]", async () => {
    const model = await tinyModel();
    const h = await startServer({ model, port: 0, log: () => {}, shutdownGraceMs: 200 });
    try {
      const res = await fetch(`${h.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "x", max_tokens: 250, temperature: 0, stream: true }) });
      const reader = res.body!.getReader();
      let raw = new TextDecoder().decode((await reader.read()).value);
      const closing = h.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        raw += new TextDecoder().decode(value);
      }
      await closing;
      const events = sseEvents(raw);
      expect(events[events.length - 1]).to.equal("[DONE]");
      const err = events[events.length - 2] as { error?: { code: string } };
      expect(err.error?.code).to.equal("shutting_down");
      expect(h.core.pool!.active).to.equal(0);
      // Refused: either the connection (no longer listening) or, on a kept-alive one, 503.
      const after = await fetch(`${h.url}/health`).catch(() => undefined);
      if (after) expect(after.status).to.equal(503);
    } finally {
      model.dispose();
    }
  });
});

describeConformance("server: stories260K at temperature 0 gives run.c's ids", ["stories260K/stories260K.bin", "stories260K/reference.json"], () => {
  it("from BOS, alone and as 3 concurrent streams batched together", async () => {
    const ref = JSON.parse(readFileSync(fixturePath("stories260K/reference.json"), "utf8")) as { greedy: { prompt: number[]; generated: number[] } };
    const model = await loadModel(fixturePath("stories260K/stories260K.bin"), { format: "llama2c", backend: "wasm", threads: 1, nCtx: 256 });
    const h = await startServer({ model, port: 0, log: () => {}, parallel: 3 });
    try {
      await h.ready;
      const body = { prompt: ref.greedy.prompt, max_tokens: ref.greedy.generated.length, temperature: 0, repetition_penalty: 1 };
      const alone = await post(`${h.url}/v1/completions`, body);
      expect(alone.status, JSON.stringify(alone.json)).to.equal(200);
      expect(alone.json.choices[0].token_ids).to.deep.equal(ref.greedy.generated);
      expect(alone.json.choices[0].text).to.equal("");
      // `llamats generate --ids` (the CLI, as a user runs it) prints the same ids.
      const bin = fileURLToPath(new URL("../../cli/src/bin.ts", import.meta.url));
      const cli = spawnSync(process.execPath, ["--conditions=source", "--import=tsx", bin, "generate", "-m", fixturePath("stories260K/stories260K.bin"),
        "--format", "llama2c", "--ids", ref.greedy.prompt.join(","), "-n", String(ref.greedy.generated.length), "--temp", "0", "--repeat-penalty", "1",
        "--threads", "1", "--ctx", "256"], { timeout: 120000 });
      expect(cli.status, cli.stderr.toString()).to.equal(0);
      expect(cli.stdout.toString().trim().split(",").map(Number)).to.deep.equal(alone.json.choices[0].token_ids);
      // The engine alone gives the same ids.
      const seq = model.createSequence();
      const engine: number[] = [];
      for await (const id of seq.generateIds(ref.greedy.prompt, { temperature: 0, repeatPenalty: 1, maxTokens: ref.greedy.generated.length })) engine.push(id);
      seq.dispose();
      expect(engine).to.deep.equal(ref.greedy.generated);
      const streams = await Promise.all([0, 1, 2].map(async () => {
        const r = await fetch(`${h.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
        const ids: number[] = [];
        for (const e of sseEvents(await r.text())) if (e !== "[DONE]") ids.push(...((e as { choices: { token_ids?: number[] }[] }).choices[0].token_ids ?? []));
        return ids;
      }));
      for (const ids of streams) expect(ids).to.deep.equal(ref.greedy.generated);
      // Text prompts and chat need a tokenizer: a clear 400.
      const chat = await post(`${h.url}/v1/chat/completions`, { messages: "hi" });
      expect(chat.status).to.equal(400);
      expect(chat.json.error.code).to.equal("no_tokenizer");
    } finally {
      await h.close();
      model.dispose();
    }
  });
});
