// `llamats serve` as a user runs it (spawned from the TypeScript sources), and determinism
// against `llamats generate`: temperature 0 through the server gives the CLI's text.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanup, post, sseEvents, tinyModelPath } from "./helpers.js";

const bin = fileURLToPath(new URL("../../cli/src/bin.ts", import.meta.url));
const node = (args: string[]) => [process.execPath, ["--conditions=source", "--import=tsx", bin, ...args]] as const;

function llamats(args: string[]) {
  const [cmd, argv] = node(args);
  const r = spawnSync(cmd, argv, { timeout: 120000 });
  return { code: r.status, out: r.stdout.toString("utf8"), err: r.stderr.toString("utf8") };
}

/** Start `llamats serve`, resolve with the URL once it says ready. */
function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const [cmd, argv] = node(["serve", ...args]);
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && /ready: /.test(err)) resolve({ child, url: m[1], stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

describe("cli: llamats serve", function () {
  after(cleanup);

  it("temperature 0 through the server gives the text `llamats generate` prints", async () => {
    const model = tinyModelPath();
    const gen = llamats(["generate", "-m", model, "-p", "Once upon a time", "-n", "16", "--temp", "0", "--repeat-penalty", "1", "--seed", "1", "--threads", "1", "--ctx", "256", "--backend", "wasm"]);
    expect(gen.code, gen.err).to.equal(0);
    const s = await startServe(["-m", model, "--port", "0", "--threads", "1", "--ctx-size", "256", "--parallel", "2"]);
    try {
      const r = await post(`${s.url}/v1/completions`, { prompt: "Once upon a time", max_tokens: 16, temperature: 0 });
      expect(r.status).to.equal(200);
      const text: string = r.json.choices[0].text;
      expect(gen.out).to.equal(text.endsWith("\n") ? text : text + "\n");
      expect(r.json.usage.completion_tokens).to.equal(16);
    } finally {
      s.child.kill("SIGTERM");
      expect(await s.exited).to.equal(0);
    }
  });

  it("auth from --api-key-file; SIGTERM ends an in-flight stream with [DONE] and exits 0", async () => {
    const keyFile = join(dirname(tinyModelPath()), "key.txt");
    writeFileSync(keyFile, "file-key\n");
    const s = await startServe(["-m", tinyModelPath(), "--port", "0", "--threads", "1", "--ctx-size", "256", "--api-key-file", keyFile, "--cors", "https://example.test"]);
    const h = await fetch(`${s.url}/health`);
    expect(await h.json()).to.include({ status: "ok" });
    expect(h.headers.get("access-control-allow-origin")).to.equal("https://example.test");
    expect((await post(`${s.url}/v1/models`, {})).status).to.equal(401);
    const res = await fetch(`${s.url}/v1/completions`, {
      method: "POST", headers: { "content-type": "application/json", authorization: "Bearer file-key" },
      body: JSON.stringify({ prompt: "Once", max_tokens: 150, temperature: 0, stream: true }),
    });
    expect(res.status).to.equal(200);
    const reader = res.body!.getReader();
    let raw = "";
    const first = await reader.read(); // the stream is running
    raw += new TextDecoder().decode(first.value);
    const t0 = performance.now();
    s.child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      raw += new TextDecoder().decode(value);
    }
    const events = sseEvents(raw);
    expect(events[events.length - 1]).to.equal("[DONE]");
    expect(await s.exited).to.equal(0);
    expect(performance.now() - t0).to.be.below(10000); // the grace period (5 s) bounds it
    expect(s.stderr()).to.match(/SIGTERM: shutting down/);
    expect(s.stderr()).to.match(/POST \/v1\/completions 200 \d+ms/);
  });

  it("bad flags: one line on stderr, exit 2", function () {
    // Eight CLI start-ups in a row: seconds each on a loaded machine, more than mocha's default.
    this.timeout(8 * 120000);
    for (const args of [
      ["-m", tinyModelPath(), "--api-key", "a", "--api-key-file", "b"],
      ["-m", tinyModelPath(), "--template", "nope"],
      ["-m", tinyModelPath(), "--port", "70000"],
      ["-m", tinyModelPath(), "--parallel", "0"],
      ["-m", tinyModelPath(), "--ctx-size", "x"],
      ["-m", join(dirname(tinyModelPath()), "missing.gguf"), "--port", "0"],
      ["-m", tinyModelPath(), "--browser-models", dirname(tinyModelPath())], // only with --browser-demo
      ["--browser-demo", "--browser-models", join(dirname(tinyModelPath()), "no-such-folder"), "--port", "0"],
    ]) {
      const r = llamats(["serve", ...args]);
      expect(r.code, `${args.join(" ")}: ${r.err}`).to.equal(2);
      expect(r.err.trim().split("\n").filter((l) => !l.startsWith("llamats serve: listening")).length, r.err).to.equal(1);
      expect(r.err).to.match(/^llamats: /m);
    }
  });
});
