// The model worker (bundled as model-worker.js): a dedicated Web Worker that holds one
// LlamaModel and answers the page's requests (worker-protocol.ts). The model, its backend and
// the thread pool's calling thread live here, not on the page, so the page stays responsive
// through loading and long prompts, and the pool's caller may block in Atomics.wait between
// spins (a page's main thread may not). The pool's own threads are Web Workers started from
// here (nested workers), over the same shared memories.

import type { LlamaModel } from "@llamats/engine";
import { loadModelFromBlob, loadModelFromUrl } from "./load.js";
import { measureSpeed } from "./speed.js";
import type { ModelInfo, WorkerEvent, WorkerRequest } from "./worker-protocol.js";

interface WorkerScope {
  addEventListener(type: "message", fn: (e: { data: WorkerRequest }) => void): void;
  postMessage(msg: WorkerEvent, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

let model: LlamaModel | undefined;
const aborts = new Map<number, AbortController>();

function loaded(): LlamaModel {
  if (!model) throw new Error("no model loaded");
  return model;
}

function info(m: LlamaModel): ModelInfo {
  const b = m.backend as unknown as { name: string; threads?: number; arena?: { memories: unknown[] }; stats?: { jobs: number } };
  const c = m.config;
  return {
    config: { blockCount: c.blockCount, embeddingLength: c.embeddingLength, vocabSize: c.vocabSize, contextLength: c.contextLength },
    backend: b.name, threads: b.threads ?? 1, memories: b.arena?.memories.length ?? 0, poolJobs: b.stats?.jobs ?? 0,
  };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  const id = req.id;
  switch (req.op) {
    case "load": {
      model?.dispose();
      model = undefined;
      const onProgress = (p: { done: number; total: number; unit: string; label?: string }): void => scope.postMessage({ id, progress: p });
      const opts = { ...req.opts, onProgress, onDownload: onProgress };
      model = req.file ? await loadModelFromBlob(req.file, req.name, opts) : await loadModelFromUrl(req.url ?? "", opts);
      return info(model);
    }
    case "forward": {
      const m = loaded();
      if (req.reset) m.reset();
      return m.forward(req.ids, { logits: req.all ? "all" : "last" }).slice(); // out of the shared memory
    }
    case "generate":
    case "generateIds": {
      const m = loaded();
      const abort = new AbortController();
      aborts.set(id, abort);
      try {
        m.reset();
        if (req.op === "generate") {
          for await (const piece of m.generate(req.prompt, { ...req.opts, signal: abort.signal })) scope.postMessage({ id, piece });
        } else {
          for await (const token of m.generateIds(req.ids, { ...req.opts, signal: abort.signal })) scope.postMessage({ id, token });
        }
      } finally {
        aborts.delete(id);
      }
      return m.lastStats ?? null;
    }
    case "speed":
      return measureSpeed(loaded(), req.pp, req.tg);
    case "tokenize":
      return loaded().tokenize(req.text, { bos: req.bos });
    case "info":
      return model ? info(model) : null;
    case "reset":
      loaded().reset();
      return null;
    case "abort":
      aborts.get(req.target)?.abort();
      return null;
    case "dispose":
      model?.dispose();
      model = undefined;
      return null;
  }
}

scope.addEventListener("message", (e) => {
  const req = e.data;
  handle(req).then(
    (done) => scope.postMessage({ id: req.id, done }, done instanceof Float32Array ? [done.buffer] : []),
    (err: unknown) => scope.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
