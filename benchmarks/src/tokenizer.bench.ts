// Tokenizer encode throughput (MB/s of UTF-8 input, tokens/s) on text/zh_examples.txt with
// the Chinese-LLaMA tokenizer, line by line, side by side with Google's SentencePiece
// (C++ through its Python binding, Debian's python3-sentencepiece) when it is installed.
// Both sides warm up, then encode the whole file in alternating rounds; the ratio is llamats
// MB/s over SentencePiece MB/s. The ids of both are compared too.
// Run: node --conditions=source --import=tsx benchmarks/src/tokenizer.bench.ts

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { fixturePath, haveFixtures } from "@llamats/testkit";
import { loadTokenizer } from "@llamats/formats";
import { round, runStandalone } from "./harness.js";

const MODEL = "tokenizers/chinese_llama/tokenizer.model";
const TEXT = "text/zh_examples.txt";

interface Throughput {
  mbPerSec: number;
  tokensPerSec: number;
  passes: number;
  seconds: number;
}

// The SentencePiece side is a Python process that answers commands on stdin, so the two
// can be measured in alternating rounds: on a shared, noisy machine both see the same load.
const PY = String.raw`
import json, sys, time
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")
nbytes = sum(len(l.encode("utf-8")) for l in lines)
ids = [sp.encode(l) for l in lines]
ntok = sum(len(x) for x in ids)
print(json.dumps({"version": spm.__version__, "ids": ids}), flush=True)
for cmd in sys.stdin:
    sec = float(cmd)
    passes, t0 = 0, time.perf_counter()
    while True:
        for l in lines: sp.encode(l)
        passes += 1
        el = time.perf_counter() - t0
        if el >= sec: break
    print(json.dumps({"bytes": nbytes * passes, "tokens": ntok * passes, "seconds": el}), flush=True)
`;

interface Round {
  bytes: number;
  tokens: number;
  seconds: number;
}

/** A running SentencePiece process: ask(line) sends a command and resolves with its JSON reply. */
class SentencePieceProcess {
  private readonly replies: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private buffered = "";
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w(line);
        } else this.replies.push(line);
      }
    });
  }

  static async start(python: string, model: string, text: string): Promise<{ proc: SentencePieceProcess; hello: { version: string; ids: number[][] } } | string> {
    const child = spawn(python, ["-c", PY, model, text]);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const proc = new SentencePieceProcess(child);
    const exited = new Promise<string>((resolve) => {
      child.on("error", (e) => resolve(e.message));
      child.on("exit", () => resolve(stderr.trim().split("\n").pop() ?? "exited"));
    });
    const first = await Promise.race([proc.next().then((l) => ({ line: l })), exited.then((why) => ({ why }))]);
    if ("why" in first) return `${python}: ${first.why.slice(0, 160)}`;
    return { proc, hello: JSON.parse(first.line) };
  }

  private next(): Promise<string> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async round(seconds: number): Promise<Round> {
    this.child.stdin.write(`${seconds}\n`);
    return JSON.parse(await this.next());
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Harness entry (run.ts passes its extra arguments): `--rounds N`, `--seconds S` per round. */
export async function run(args: string[] = []): Promise<object> {
  const arg = (name: string, dflt: number): number => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : dflt;
  };
  const rounds = arg("--rounds", 4);
  const secondsPerRound = arg("--seconds", 0.75);
  if (!haveFixtures(MODEL, TEXT)) return { skipped: `fixtures ${MODEL}, ${TEXT} not found` };
  const tok = loadTokenizer(fixturePath(MODEL));
  const lines = readFileSync(fixturePath(TEXT), "utf8").split("\n");
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
  let ids: number[][] = [];
  for (let i = 0; i < 3; i++) ids = lines.map((l) => tok.encode(l)); // warm-up (JIT, pair table)
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  const ourRound = (seconds: number): Round => {
    let passes = 0;
    let el = 0;
    const t0 = performance.now();
    do {
      for (const l of lines) tok.encode(l);
      passes++;
      el = (performance.now() - t0) / 1000;
    } while (el < seconds);
    return { bytes: bytes * passes, tokens: tokens * passes, seconds: el };
  };

  let sp: SentencePieceProcess | null = null;
  let version = "";
  let idsAgree: boolean | null = null;
  const unavailable: string[] = [];
  for (const python of ["python3", "/usr/bin/python3"]) {
    const started = await SentencePieceProcess.start(python, fixturePath(MODEL), fixturePath(TEXT));
    if (typeof started === "string") {
      unavailable.push(started);
      continue;
    }
    sp = started.proc;
    version = started.hello.version;
    const spIds = started.hello.ids;
    idsAgree = spIds.length === ids.length && spIds.every((x, i) => JSON.stringify(x) === JSON.stringify(ids[i]));
    break;
  }

  const total = { ours: { bytes: 0, tokens: 0, seconds: 0 }, sp: { bytes: 0, tokens: 0, seconds: 0 } };
  const add = (t: Round, r: Round): void => {
    t.bytes += r.bytes;
    t.tokens += r.tokens;
    t.seconds += r.seconds;
  };
  if (sp) await sp.round(0.3); // warm-up
  for (let r = 0; r < rounds; r++) {
    add(total.ours, ourRound(secondsPerRound));
    if (sp) add(total.sp, await sp.round(secondsPerRound));
  }
  sp?.close();
  const rate = (t: Round): Throughput => ({
    mbPerSec: round(t.bytes / t.seconds / 1e6),
    tokensPerSec: round(t.tokens / t.seconds),
    passes: Math.round(t.bytes / bytes),
    seconds: round(t.seconds),
  });
  const ours = rate(total.ours);
  process.stderr.write(`  llamats: ${ours.mbPerSec} MB/s, ${ours.tokensPerSec} tokens/s\n`);
  let reference: object;
  let ratio: number | null = null;
  if (sp) {
    const theirs = rate(total.sp);
    ratio = round(ours.mbPerSec / theirs.mbPerSec);
    reference = { version, ...theirs };
    process.stderr.write(`  sentencepiece ${version}: ${theirs.mbPerSec} MB/s; ratio ${ratio}, ids agree: ${idsAgree}\n`);
  } else {
    reference = { unavailable: unavailable.join("; ") };
    process.stderr.write(`  sentencepiece unavailable (${unavailable.join("; ")})\n`);
  }
  return {
    name: "tokenizer_encode_zh_examples",
    model: MODEL,
    text: TEXT,
    lines: lines.length,
    bytes,
    tokens,
    rounds,
    llamats: ours,
    sentencepiece: reference,
    ratio,
    idsAgree,
    targetMbPerSec: 4.8,
  };
}

runStandalone(import.meta.url, "tokenizer", run);
